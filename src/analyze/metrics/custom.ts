import type { Kysely } from 'kysely';
import { type Details, detailOf, detailText, PulseloopError } from '../../errors/registry.js';
import { isRollupColumn } from '../../store/facts/rollups.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import type { MetadataDatabase } from '../../store/metadata/schema.js';
import { fieldSql, parseField } from '../query/fields.js';
import { compileFilters } from '../query/filters.js';
import { SqlParams } from '../query/params.js';
import type { AggregateMetric, FormulaMetric, MetricDef, MetricFormat, MetricUnit } from './catalogue.js';
import { FormulaError, formulaRefs, parseFormula } from './formula.js';
import { BUILT_IN_CATALOGUE, type Catalogue, catalogueOf, resolveMetric } from './resolve.js';

/**
 * Metrics people add without code, stored per project in the metadata store: a formula over
 * existing metrics, or an aggregation (count, sum, avg, distinct persons) of one event, optionally
 * of one of its fields, with typed filters. Neither kind carries SQL text from the user.
 */

export type CustomDefinition =
  | { type: 'formula'; expression: string }
  | {
      type: 'event';
      event: string;
      aggregation: 'count' | 'sum' | 'avg' | 'uniq_persons';
      /** Field to sum or average: `properties.<key>` or a numeric event column (revenue). */
      property?: string;
      filters?: { field: string; op: string; value?: unknown }[];
    };

export interface CustomMetricInput {
  id: string;
  en: string;
  zh?: string;
  unit?: MetricUnit;
  format?: MetricFormat;
  higherIsBetter?: boolean | null;
  definition: CustomDefinition;
}

export interface CustomMetricRecord extends Required<Omit<CustomMetricInput, 'higherIsBetter'>> {
  higherIsBetter: boolean | null;
  createdAt: string;
  updatedAt: string;
}

export interface CustomMetricsTable {
  project_id: string;
  id: string;
  en: string;
  zh: string;
  unit: string;
  format: string;
  /** 1, 0 or null (no preferred direction). */
  higher_is_better: number | null;
  definition: string;
  created_at: string;
  updated_at: string;
}

type Db = Kysely<MetadataDatabase & { custom_metrics: CustomMetricsTable }>;
const dbOf = (store: MetadataStore): Db => store.db.withTables<{ custom_metrics: CustomMetricsTable }>();

const ID = /^[a-z][a-z0-9_]{0,47}$/;

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_metric', { field, ...detailText(detail, detailZh) });
}

/** The detail of another error (both languages), at `field` of the metric definition. */
function invalidAs(field: string, details: Details): never {
  throw new PulseloopError('invalid_metric', { field, ...detailOf(details) });
}

/** The catalogue entry of a stored custom metric. */
export function customMetricDef(record: Omit<CustomMetricRecord, 'createdAt' | 'updatedAt'>): MetricDef {
  const info = {
    id: record.id,
    en: record.en,
    zh: record.zh,
    unit: record.unit,
    format: record.format,
    higherIsBetter: record.higherIsBetter,
  };
  const d = record.definition;
  if (d.type === 'formula') {
    return {
      ...info,
      kind: 'formula',
      expression: d.expression,
      formula: d.expression,
    } satisfies FormulaMetric;
  }
  const filters = d.filters ?? [];
  const described = `${d.aggregation}${d.property ? ` of ${d.property}` : ''} over ${d.event} events${filters.length > 0 ? ' matching the filters' : ''}`;
  return {
    ...info,
    kind: 'aggregate',
    source: 'events',
    events: [d.event],
    formula: described,
    needsPersonTraits: filters.some((f) => f.field.startsWith('person.')),
    additive: d.aggregation === 'count' || d.aggregation === 'sum',
    ...(d.aggregation === 'count' && filters.every((f) => isRollupColumn(f.field))
      ? { rollup: { measure: 'count' as const, filters } }
      : {}),
    sql: ({ bind, params, person }) => {
      const condition = `e.event = ${bind('String', d.event)} AND ${compileFilters(filters, params, `metric ${record.id} filters`).sql}`;
      const value = () => fieldSql(parseField(d.property, 'property'), 'number', bind);
      switch (d.aggregation) {
        case 'count':
          return `countIf(${condition})`;
        case 'sum':
          return `ifNull(sumIf(${value()}, ${condition}), 0)`;
        case 'avg':
          return `avgIf(${value()}, ${condition} AND isNotNull(${value()}))`;
        case 'uniq_persons':
          return `uniqExactIf(${person}, ${condition})`;
      }
    },
  } satisfies AggregateMetric;
}

/** Validates a custom metric against the catalogue it joins; errors name the wrong field. */
export function validateCustomMetric(input: CustomMetricInput, catalogue: Catalogue): void {
  if (!ID.test(input.id)) {
    invalid(
      'id',
      'lower-case letters, digits and _; starting with a letter; at most 48',
      '只能包含小写字母、数字和 _，以字母开头，最多 48 个字符',
    );
  }
  if (BUILT_IN_CATALOGUE.get(input.id))
    invalid('id', `"${input.id}" is a built-in metric`, `"${input.id}" 是内置指标`);
  const d = input.definition;
  if (d.type === 'formula') {
    let refs: Set<string>;
    try {
      refs = formulaRefs(parseFormula(d.expression));
    } catch (error) {
      if (error instanceof FormulaError) invalid('definition.expression', error.message, error.zh);
      throw error;
    }
    for (const ref of refs) {
      if (ref.startsWith('$') ? !['$days', '$weeks', '$months'].includes(ref) : !catalogue.get(ref)) {
        invalid('definition.expression', `unknown metric "${ref}"`, `未知指标 "${ref}"`);
      }
    }
    // Resolving through the catalogue with this metric in it finds self-references.
    const trial = catalogueOf([
      ...catalogue.all().filter((m) => m.id !== input.id),
      customMetricDef(withDefaults(input)),
    ]);
    try {
      resolveMetric(trial, input.id, 'definition.expression');
    } catch (error) {
      if (error instanceof PulseloopError) invalidAs('definition.expression', error.details);
      throw error;
    }
    return;
  }
  if (typeof d.event !== 'string' || d.event === '' || d.event.length > 200) {
    invalid('definition.event', 'expected an event name', '必须是事件名');
  }
  if (d.aggregation === 'sum' || d.aggregation === 'avg') {
    if (!d.property) {
      invalid(
        'definition.property',
        `"${d.aggregation}" needs a field to aggregate`,
        `"${d.aggregation}" 需要指定要聚合的字段`,
      );
    }
    try {
      parseField(d.property, 'definition.property');
    } catch (error) {
      if (error instanceof PulseloopError) invalidAs('definition.property', error.details);
      throw error;
    }
  }
  try {
    compileFilters(d.filters ?? [], new SqlParams(), 'definition.filters');
  } catch (error) {
    if (error instanceof PulseloopError) invalidAs(String(error.details.field), error.details);
    throw error;
  }
}

function withDefaults(input: CustomMetricInput): Omit<CustomMetricRecord, 'createdAt' | 'updatedAt'> {
  const ratio = input.definition.type === 'formula' && input.definition.expression.includes('/');
  return {
    id: input.id,
    en: input.en,
    zh: input.zh ?? input.en,
    unit: input.unit ?? (ratio ? 'ratio' : 'count'),
    format: input.format ?? (ratio ? 'percent' : 'decimal'),
    higherIsBetter: input.higherIsBetter ?? true,
    definition: input.definition,
  };
}

function fromRow(row: CustomMetricsTable): CustomMetricRecord {
  return {
    id: row.id,
    en: row.en,
    zh: row.zh,
    unit: row.unit as MetricUnit,
    format: row.format as MetricFormat,
    higherIsBetter: row.higher_is_better === null ? null : row.higher_is_better === 1,
    definition: JSON.parse(row.definition) as CustomDefinition,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function listCustomMetrics(
  store: MetadataStore,
  projectId: string,
): Promise<CustomMetricRecord[]> {
  const rows = await dbOf(store)
    .selectFrom('custom_metrics')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('id')
    .execute();
  return rows.map(fromRow);
}

/** The catalogue of a project: built-in metrics plus its custom ones. */
export async function projectCatalogue(store: MetadataStore, projectId: string): Promise<Catalogue> {
  return catalogueOf((await listCustomMetrics(store, projectId)).map(customMetricDef));
}

/** The catalogue a query needs: the built-in one unless it names a metric that is not built in. */
export async function loadCatalogue(
  store: MetadataStore,
  projectId: string,
  metricIds: readonly string[],
): Promise<Catalogue> {
  if (metricIds.every((id) => BUILT_IN_CATALOGUE.get(id))) return BUILT_IN_CATALOGUE;
  return projectCatalogue(store, projectId);
}

/** Creates or replaces a custom metric after validating it against the project's catalogue. */
export async function saveCustomMetric(
  store: MetadataStore,
  projectId: string,
  input: CustomMetricInput,
  now = new Date(),
): Promise<CustomMetricRecord> {
  validateCustomMetric(input, await projectCatalogue(store, projectId));
  const record = withDefaults(input);
  const at = now.toISOString();
  const values = {
    en: record.en,
    zh: record.zh,
    unit: record.unit,
    format: record.format,
    higher_is_better: record.higherIsBetter === null ? null : record.higherIsBetter ? 1 : 0,
    definition: JSON.stringify(record.definition),
    updated_at: at,
  };
  await dbOf(store)
    .insertInto('custom_metrics')
    .values({ project_id: projectId, id: record.id, created_at: at, ...values })
    .onConflict((oc) => oc.columns(['project_id', 'id']).doUpdateSet(values))
    .execute();
  const saved = await dbOf(store)
    .selectFrom('custom_metrics')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('id', '=', record.id)
    .executeTakeFirstOrThrow();
  return fromRow(saved);
}

/** Deletes a custom metric unless another custom metric's formula uses it. Returns whether it existed. */
export async function deleteCustomMetric(
  store: MetadataStore,
  projectId: string,
  id: string,
): Promise<boolean> {
  const all = await listCustomMetrics(store, projectId);
  const user = all.find(
    (m) =>
      m.id !== id &&
      m.definition.type === 'formula' &&
      formulaRefs(parseFormula(m.definition.expression)).has(id),
  );
  if (user) {
    invalid(
      'id',
      `metric "${user.id}" uses "${id}"; change or delete it first`,
      `指标 "${user.id}" 使用了 "${id}"；请先修改或删除该指标`,
    );
  }
  const result = await dbOf(store)
    .deleteFrom('custom_metrics')
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
