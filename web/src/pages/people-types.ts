/** What the identity routes answer (src/identity/inspect.ts); the dashboard has no import from src/. */

/** One row of the identity log (src/identity/inspect.ts IdentityLogEntry). */
export interface LogEntry extends Record<string, unknown> {
  at: number;
  kind: 'merge' | 'conflict';
  personId: string;
  otherPersonId: string;
  distinctId: string;
  otherDistinctId: string;
  reasonCode: string;
  reason: string;
  reasonZh: string;
  messageId: string;
  /** A conflict met again is one entry: the first time, the latest (`at`) and how often. */
  firstAt: number;
  times: number;
  /** conflict: the two ids belong to one person now (merged by hand since). */
  mergedSince?: boolean;
  /** conflict: someone decided the two are different people, and when. */
  decision?: 'kept_apart';
  decidedAt?: number;
}

export interface ConflictPage {
  conflicts: LogEntry[];
  /** All conflicts, and those still open (neither merged since nor kept apart by decision). */
  total: number;
  open: number;
}

/** Conflicts asked for at a time. */
export const CONFLICT_PAGE = 200;

export interface PersonIdentity {
  personId: string;
  askedFor: string;
  mergedFrom?: string;
  /** The stored id the lookup matched, when it was typed otherwise (a phone number, a bare openid). */
  matched?: string;
  ids: { id: string; type: string; linkedAt: number }[];
  /** All its ids; `ids` holds the oldest thousand when there are more. */
  idsTotal: number;
  history: LogEntry[];
  conflicts: number;
  /** Latest traits, PII masked for the viewer's role ({} for a person never identified). */
  traits: Record<string, unknown>;
}

/** One person of the period's list (src/identity/persons-list.ts ListedPerson). */
export interface ListedPerson extends Record<string, unknown> {
  personId: string;
  events: number;
  platforms: string[];
  firstSeen: number;
  lastSeen: number;
  userIds: string[];
  idsTotal: number;
  /** Latest traits, PII masked for the viewer's role. */
  traits: Record<string, unknown>;
}

export interface PersonsPage {
  persons: ListedPerson[];
  total: number;
}
