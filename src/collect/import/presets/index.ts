import { listDetail, PulseloopError } from '../../../errors/registry.js';
import { AD_PRESETS } from './ads.js';
import { CONTENT_PRESETS } from './content.js';
import { ORDER_PRESETS } from './orders.js';
import type { Preset } from './types.js';

export type { Preset } from './types.js';

/** Every built-in preset, by name. */
export const PRESETS: readonly Preset[] = [...CONTENT_PRESETS, ...AD_PRESETS, ...ORDER_PRESETS];

/** The preset of that name; import_unknown_preset when there is none. */
export function presetNamed(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) {
    throw new PulseloopError('import_unknown_preset', {
      value: name,
      ...listDetail(
        'presets',
        PRESETS.map((p) => p.name),
      ),
    });
  }
  return preset;
}
