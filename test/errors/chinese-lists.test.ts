import { describe, expect, it } from 'vitest';
import { CONNECTORS, connectorById, streamOf } from '../../src/collect/connectors/registry.js';
import type { ConnectorDefinition } from '../../src/collect/connectors/types.js';
import type { Header } from '../../src/collect/import/header.js';
import { IMPORT_KINDS, kindSpec } from '../../src/collect/import/kinds/index.js';
import { planMapping } from '../../src/collect/import/mapping.js';
import { PRESETS, presetNamed } from '../../src/collect/import/presets/index.js';
import { platformById, WEBHOOK_PLATFORMS } from '../../src/collect/webhooks/platforms.js';
import { parseRole, ROLES } from '../../src/govern/permissions.js';
import { refusal } from '../support/refusal.js';

const twoStreams = {
  id: 'fake',
  streams: [{ name: 'ad_report' }, { name: 'video_list' }],
} as unknown as ConnectorDefinition;

const header: Header = {
  headerIndex: 0,
  dataIndex: 1,
  names: ['作品名称', '播放量'],
  candidates: [['作品名称'], ['播放量']],
  rowNumber: 1,
};

const ROWS: [string, () => unknown, readonly string[]][] = [
  ['an unknown role', () => parseRole('boss'), ROLES],
  ['an unknown import kind', () => kindSpec('tweets'), Object.keys(IMPORT_KINDS)],
  ['an unknown preset', () => presetNamed('nope'), PRESETS.map((p) => p.name)],
  ['an unknown connector', () => connectorById('nope'), CONNECTORS.map((c) => c.id)],
  ['an unknown stream', () => streamOf(twoStreams, 'nope'), ['ad_report', 'video_list']],
  ['an unknown webhook platform', () => platformById('nope'), WEBHOOK_PLATFORMS.map((p) => p.id)],
  [
    'the columns of a file that lacks some',
    () => planMapping(IMPORT_KINDS.content_stats, header, { timeZone: 'Asia/Shanghai' }),
    header.names,
  ],
];

describe('lists inside messages', () => {
  it.each(ROWS)('names the choices of %s with ", " in English and 、 in Chinese', (_case, run, items) => {
    const error = refusal(run);
    expect(items.length).toBeGreaterThan(1);
    expect(error.message).toContain(items.join(', '));
    expect(error.zh).toContain(items.join('、'));
    expect(error.zh).not.toContain(', ');
  });

  it('names each missing field in Chinese by its Chinese description, the list after a colon', () => {
    const error = refusal(() =>
      planMapping(IMPORT_KINDS.content_stats, header, { timeZone: 'Asia/Shanghai' }),
    );
    expect(error.zh).toBe(
      '文件中没有以下字段对应的列：platform（平台）、date（数据日期，缺失时用标题行中的日期）。' +
        '找到的列：作品名称、播放量。请选择 --preset 或提供 --mapping 映射文件。' +
        '也可以指定数据所属的日期：--date YYYY-MM-DD（上传时：date=YYYY-MM-DD）。',
    );
  });
});
