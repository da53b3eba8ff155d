import { detailText, PulseloopError } from '../../errors/registry.js';
import { type AggregateMetric, BUILT_IN_METRICS, type MetricDef } from './catalogue.js';
import { type FormulaNode, formulaRefs, parseFormula } from './formula.js';
import { type SourceId, sourceHasDimension } from './sources.js';

/**
 * A catalogue as one query sees it (built-in metrics plus the project's custom ones), and each
 * requested metric resolved to the aggregates it needs, the dimensions it takes and its formula tree.
 */

export interface Catalogue {
  get(id: string): MetricDef | undefined;
  all(): MetricDef[];
}

export function catalogueOf(custom: readonly MetricDef[] = []): Catalogue {
  const byId = new Map<string, MetricDef>();
  for (const m of BUILT_IN_METRICS) byId.set(m.id, m);
  for (const m of custom) if (!byId.has(m.id)) byId.set(m.id, m);
  return { get: (id) => byId.get(id), all: () => [...byId.values()] };
}

export const BUILT_IN_CATALOGUE = catalogueOf();

export interface ResolvedMetric {
  def: MetricDef;
  /** The formula tree (formula metrics) or null (aggregates). */
  tree: FormulaNode | null;
  /** Every aggregate the value is computed from, in formula order. */
  leaves: AggregateMetric[];
  /** The aggregate a breakdown's top-N ranks by (the denominator of a ratio). */
  rankLeaf: AggregateMetric;
  sources: Set<SourceId>;
  /** Uses $days/$weeks/$months or reads a date-only source: no hourly buckets. */
  hourly: boolean;
}

const trees = new Map<string, FormulaNode>();

function treeOf(def: MetricDef & { kind: 'formula' }): FormulaNode {
  const key = `${def.id}\u0000${def.expression}`;
  let tree = trees.get(key);
  if (!tree) {
    tree = parseFormula(def.expression);
    if (trees.size > 10_000) trees.clear();
    trees.set(key, tree);
  }
  return tree;
}

/** Resolves one metric; `at` names it in errors (e.g. `metrics[1]`). */
export function resolveMetric(catalogue: Catalogue, id: string, at: string): ResolvedMetric {
  const def = catalogue.get(id);
  if (!def) {
    throw new PulseloopError('invalid_query', {
      field: at,
      ...detailText(
        `unknown metric "${id.slice(0, 60)}"; GET /api/v1/projects/:projectId/metrics lists them`,
        `未知指标 "${id.slice(0, 60)}"；可通过 GET /api/v1/projects/:projectId/metrics 查看全部指标`,
      ),
    });
  }
  const leaves: AggregateMetric[] = [];
  let usesVariables = false;
  const visit = (metric: MetricDef, path: string[]) => {
    if (path.includes(metric.id)) {
      throw new PulseloopError('invalid_query', {
        field: at,
        ...detailText(
          `metric "${id}" refers to itself through ${[...path, metric.id].join(' → ')}`,
          `指标 "${id}" 通过 ${[...path, metric.id].join(' → ')} 引用了自身`,
        ),
      });
    }
    if (metric.kind === 'aggregate') {
      if (!leaves.includes(metric)) leaves.push(metric);
      return;
    }
    for (const ref of formulaRefs(treeOf(metric))) {
      if (ref.startsWith('$')) {
        usesVariables = true;
        continue;
      }
      const inner = catalogue.get(ref);
      if (!inner) {
        throw new PulseloopError('invalid_query', {
          field: at,
          ...detailText(
            `metric "${metric.id}" refers to unknown metric "${ref}"`,
            `指标 "${metric.id}" 引用了未知指标 "${ref}"`,
          ),
        });
      }
      visit(inner, [...path, metric.id]);
    }
  };
  visit(def, []);
  const tree = def.kind === 'formula' ? treeOf(def) : null;
  let rankLeaf = leaves[0]!;
  if (tree?.type === 'binary' && tree.op === '/') {
    const denominator = [...formulaRefs(tree.right)].map((r) => catalogue.get(r)).find(Boolean);
    if (denominator) {
      const inner = resolveMetric(catalogue, denominator.id, at);
      rankLeaf = inner.rankLeaf;
    }
  }
  const sources = new Set(leaves.map((l) => l.source));
  const hourly = !usesVariables && [...sources].every((s) => s === 'events' || s === 'orders');
  return { def, tree, leaves, rankLeaf, sources, hourly };
}

/** Whether every aggregate of the metric can be broken down by `dimension`. */
export function metricHasDimension(metric: ResolvedMetric, dimension: string): boolean {
  return [...metric.sources].every((s) => sourceHasDimension(s, dimension));
}

/** Dimensions a metric takes (the intersection over its sources). */
export function metricDimensions(metric: ResolvedMetric, all: (source: SourceId) => string[]): string[] {
  const lists = [...metric.sources].map(all);
  return lists.reduce((common, list) => common.filter((d) => list.includes(d)));
}
