import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '../../src/collect/import/detect.js';
import type { ImportSummary } from '../../src/collect/import/importer.js';
import { listAudit } from '../../src/govern/audit.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { csvText, gbk } from './fixtures.js';

// A real server (chdb + SQLite) on an ephemeral port; the file is the raw request body.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const kuaishouExport = (likes: string) =>
  gbk(
    csvText([
      ['快手作品数据导出'],
      ['作品ID', '作品标题', '日期', '播放数', '点赞数', '评论数', '完播率'],
      ['k1', '泡茶', '2025-03-01', '2.3万', likes, '5', '41.2%'],
      ['k2', '采茶', '2025-03-01', '1500', '20', 'x', '10%'],
      ['合计', '', '', '24500', '', '', ''],
    ]),
  );

function post(path: string, body: Buffer) {
  return server.api(path, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
}

describe('POST /api/v1/projects/:projectId/imports', () => {
  it('imports a streamed GBK export and answers the summary', async () => {
    const response = await post(
      `/api/v1/projects/${server.projectId}/imports?kind=content_stats&preset=kuaishou_content&filename=ks.csv`,
      kuaishouExport('300'),
    );
    expect(response.status).toBe(200);
    const summary = (await response.json()) as ImportSummary;
    expect(summary).toMatchObject({
      encoding: 'gb18030',
      rowsRead: 2,
      imported: 1,
      quarantined: 1,
      skipped: { summary: 1 },
    });
    expect(summary.errors[0]).toMatchObject({ row: 4, column: '评论数', value: 'x' });
    const rows = await server.server.facts.query<{ plays: number; likes: number; completion_rate: number }>(
      'SELECT plays, likes, completion_rate FROM content_stats FINAL WHERE project_id = {p:String}',
      { p: server.projectId },
    );
    expect(rows).toEqual([{ plays: 23000, likes: 300, completion_rate: 0.412 }]);
  });

  it('updates on an updated export and changes nothing on a repeated one', async () => {
    const path = `/api/v1/projects/${server.projectId}/imports?preset=kuaishou_content&filename=ks.csv`;
    expect(await (await post(path, kuaishouExport('310'))).json()).toMatchObject({ updated: 1, imported: 0 });
    expect(await (await post(path, kuaishouExport('310'))).json()).toMatchObject({
      unchanged: 1,
      updated: 0,
    });
  });

  it('takes the day of the numbers from date= for an export without a date, and names a wrong one', async () => {
    const postList = Buffer.from(
      csvText([
        ['作品ID', '作品标题', '播放数', '点赞数'],
        ['k9', '冷泡', '900', '9'],
      ]),
    );
    const path = `/api/v1/projects/${server.projectId}/imports?preset=kuaishou_content&filename=list.csv`;
    const refused = await post(path, postList);
    expect(refused.status).toBe(400);
    const { error } = (await refused.json()) as {
      error: { code: string; message: string; details: { missing: string } };
    };
    expect(error.code).toBe('import_missing_columns');
    expect(error.message).toContain('date=YYYY-MM-DD');
    // For programs (the dashboard's date box): the missing fields by name.
    expect(error.details.missing).toBe('date');
    expect(await (await post(`${path}&date=2025-03-07`, postList)).json()).toMatchObject({ imported: 1 });
    const [row] = await server.server.facts.query<{ date: string; plays: number }>(
      "SELECT toString(date) AS date, plays FROM content_stats FINAL WHERE project_id = {p:String} AND content_id = 'k9'",
      { p: server.projectId },
    );
    expect(row).toEqual({ date: '2025-03-07', plays: 900 });
    const wrong = await post(`${path}&date=07.03.2025`, postList);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('import_invalid_date');
  });

  it('proposes the preset for a file it is shown', async () => {
    const response = await post(
      `/api/v1/projects/${server.projectId}/imports/detect?filename=ks.csv`,
      kuaishouExport('1'),
    );
    const detection = (await response.json()) as Detection;
    expect(detection.proposal).toMatchObject({ kind: 'content_stats', preset: 'kuaishou_content' });
    expect(detection.preview[0]?.values).toMatchObject({ content_id: 'k1', plays: 23000 });
  });

  it('answers 400 in both languages for an unknown kind and 404 for an unknown project', async () => {
    const bad = await post(`/api/v1/projects/${server.projectId}/imports?kind=tweets`, kuaishouExport('1'));
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; message_zh: string } };
    expect(body.error.code).toBe('import_unknown_kind');
    expect(body.error.message_zh).toContain('未知的导入类型');
    const missing = await post('/api/v1/projects/nope/imports?kind=orders', kuaishouExport('1'));
    expect(missing.status).toBe(404);
  });

  it('records every import in the audit log with its counts, and refuses callers without data.import', async () => {
    const { entries } = await listAudit(server.server.metadata, { projectId: server.projectId, limit: 100 });
    const imports = entries.filter((e) => e.action === 'data.import');
    expect(imports.some((e) => e.outcome === 'success' && e.details.imported === 1)).toBe(true);
    expect(imports.some((e) => e.outcome === 'failure' && e.details.error === 'import_unknown_kind')).toBe(
      true,
    );
    expect(imports.every((e) => e.actorId === server.owner.id)).toBe(true);

    const anonymous = await fetch(
      `${server.url}/api/v1/projects/${server.projectId}/imports?kind=content_stats`,
      {
        method: 'POST',
        body: kuaishouExport('1'),
      },
    );
    expect(anonymous.status).toBe(401);
  });
});
