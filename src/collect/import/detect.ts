import { PulseloopError } from '../../errors/registry.js';
import { isBlankRow, isSummaryRow, normaliseName, splitUnit } from './header.js';
import { headerOf, type ImportOptions, readHead } from './importer.js';
import { IMPORT_KINDS, type ImportKind } from './kinds/index.js';
import { type CustomMapping, knownNames, planMapping, tiersFor } from './mapping.js';
import { PRESETS, type Preset } from './presets/index.js';
import type { FileFormat } from './records.js';
import { convertRecord, type RowError, rowEnv } from './rows.js';
import { zonedClock } from './time.js';

/**
 * `pulseloop import --detect FILE`: reads the first rows, scores every preset (and every kind's
 * generic names) by how many header columns it knows, and shows the best mapping with a preview.
 */

export interface Candidate {
  kind: ImportKind;
  preset: string | null;
  /** Header columns this candidate maps. */
  matched: number;
  /** Of those, matched by the preset's own names (platform-specific). */
  matchedByPreset: number;
}

export interface Detection {
  format: FileFormat;
  encoding: string;
  headerRow: number;
  columns: string[];
  candidates: Candidate[];
  proposal: {
    kind: ImportKind;
    preset: string | null;
    mapping: CustomMapping;
    unmappedColumns: string[];
    /** Why no mapping fits (the error's message), and its Chinese text. */
    missing?: string;
    missing_zh?: string;
  } | null;
  preview: Array<{ row: number; values?: Record<string, unknown>; errors?: RowError[] }>;
}

function countMatches(columns: string[], names: Iterable<string>): number {
  const known = new Set([...names].map(normaliseName));
  return columns.filter((c) => known.has(normaliseName(c)) || known.has(normaliseName(splitUnit(c).name)))
    .length;
}

function candidateFor(kind: ImportKind, preset: Preset | undefined, columns: string[]): Candidate {
  const spec = IMPORT_KINDS[kind];
  const generic = Object.entries(spec.fields).flatMap(([field, f]) => [field, ...f.synonyms]);
  const own = preset ? Object.values(preset.columns).flat() : [];
  return {
    kind,
    preset: preset?.name ?? null,
    matched: countMatches(columns, [...generic, ...own]),
    matchedByPreset: countMatches(columns, own),
  };
}

export async function detectImport(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  options: Pick<ImportOptions, 'fileName' | 'format'> & { timeZone: string; previewRows?: number },
): Promise<Detection> {
  const { file, head } = await readHead(input, options);
  // Any name of any kind or preset counts while looking for the header.
  const allTiers = [
    ...Object.values(IMPORT_KINDS).flatMap((spec) => tiersFor(spec)),
    ...PRESETS.flatMap((p) => tiersFor(IMPORT_KINDS[p.kind], p).slice(0, 1)),
  ];
  const header = headerOf(file, head, knownNames(allTiers));
  const columns = header.names;
  const candidates = [
    ...PRESETS.map((p) => candidateFor(p.kind, p, columns)),
    ...(Object.keys(IMPORT_KINDS) as ImportKind[]).map((k) => candidateFor(k, undefined, columns)),
  ].sort((a, b) => b.matched - a.matched || b.matchedByPreset - a.matchedByPreset);
  const detection: Detection = {
    format: file.format,
    encoding: file.encoding,
    headerRow: header.rowNumber,
    columns,
    candidates: candidates.filter((c) => c.matched > 0).slice(0, 5),
    proposal: null,
    preview: [],
  };
  const best = detection.candidates[0];
  if (!best) return detection;
  const spec = IMPORT_KINDS[best.kind];
  const preset = best.preset ? PRESETS.find((p) => p.name === best.preset) : undefined;
  try {
    const plan = planMapping(spec, header, { ...(preset ? { preset } : {}), timeZone: options.timeZone });
    detection.proposal = {
      kind: best.kind,
      preset: best.preset,
      mapping: {
        kind: best.kind,
        ...(best.preset ? { preset: best.preset } : {}),
        columns: Object.fromEntries(
          plan.columns.map((c) => [c.column, c.unit ? { field: c.field, unit: c.unit } : c.field]),
        ),
      },
      unmappedColumns: plan.unmapped.map((c) => c.column),
    };
    const env = rowEnv({
      spec,
      plan,
      header,
      clock: zonedClock(options.timeZone),
      context: { projectId: '(preview)', sourceId: '', currency: '', updatedAt: 0 },
      kind: spec.kind,
    });
    for (const record of head.slice(header.dataIndex)) {
      if (detection.preview.length >= (options.previewRows ?? 5)) break;
      if (isBlankRow(record.cells) || isSummaryRow(record.cells)) continue;
      const outcome = convertRecord(record, env);
      if (outcome.ok) {
        const { project_id: _p, updated_at: _u, received_at: _r, version: _v, ...values } = outcome.row;
        detection.preview.push({ row: record.rowNumber, values });
      } else {
        detection.preview.push({ row: record.rowNumber, errors: outcome.errors });
      }
    }
  } catch (error) {
    detection.proposal = {
      kind: best.kind,
      preset: best.preset,
      mapping: { kind: best.kind, columns: {} },
      unmappedColumns: columns,
      missing: error instanceof Error ? error.message : String(error),
      ...(error instanceof PulseloopError && { missing_zh: error.zh }),
    };
  }
  return detection;
}
