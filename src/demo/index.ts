/** The demo world generator: a seeded tea brand on eight platforms, with planted ground truth. */
export {
  DEFAULT_END_DATE,
  type DemoCounts,
  type DemoOptions,
  type DemoProgress,
  type DemoSummary,
  generateDemoWorld,
} from './generate.js';
export { type GroundTruth, writeGroundTruth } from './ground-truth.js';
