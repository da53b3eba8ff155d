import { isSocialPlatform } from './catalogue.js';
import type { ChurnFeatureName } from './models.js';
import type { PersonProfile } from './persons.js';
import type { SessionPlan } from './sessions.js';

/**
 * The churn drivers of a person as their planned visits will show them in the data (see
 * CHURN_MODEL for the definitions analyses use).
 */

export function churnFeatures(
  person: PersonProfile,
  sessions: SessionPlan[],
): Record<ChurnFeatureName, boolean> {
  return {
    // Every social visit plays at least one video; a low watcher's completions all sit below the threshold.
    low_completion: person.lowWatcher && sessions.some((s) => isSocialPlatform(s.platform)),
    negative_comment: sessions.some((s) => s.negativeComment),
    no_app_usage: !sessions.some((s) => s.platform === 'app'),
    no_purchase: !sessions.some((s) => s.purchase > 0),
  };
}

/** The day of the last visit a churned person must keep so that their features stay as measured. */
export function featureDefiningDay(person: PersonProfile, sessions: SessionPlan[]): number {
  const firstDayOf = (predicate: (s: SessionPlan) => boolean): number => sessions.find(predicate)?.day ?? 0;
  return Math.max(
    sessions[0]?.day ?? person.firstDay,
    firstDayOf((s) => s.negativeComment),
    firstDayOf((s) => s.platform === 'app'),
    person.lowWatcher ? firstDayOf((s) => isSocialPlatform(s.platform)) : 0,
    firstDayOf((s) => s.purchase > 0),
  );
}
