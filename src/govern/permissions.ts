import { listDetail, PulseloopError } from '../errors/registry.js';

/** Roles a user holds per project, most powerful first. */
export const ROLES = ['owner', 'admin', 'analyst', 'marketer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The permission matrix: every permission and the roles that hold it. This table is the single
 * source of truth; docs/governance.md shows the same table and a test checks they agree.
 */
export const PERMISSION_MATRIX = {
  'analyses.read': ['owner', 'admin', 'analyst', 'marketer', 'viewer'],
  'analyses.write': ['owner', 'admin', 'analyst', 'marketer'],
  'events.read_raw': ['owner', 'admin', 'analyst'],
  'pii.read': ['owner', 'admin'],
  'pii.configure': ['owner', 'admin'],
  'data.export': ['owner', 'admin', 'analyst'],
  'data.import': ['owner', 'admin', 'analyst', 'marketer'],
  'keys.manage': ['owner', 'admin'],
  'users.manage': ['owner', 'admin'],
  'journeys.run': ['owner', 'admin', 'marketer'],
  'consent.read': ['owner', 'admin', 'analyst', 'marketer'],
  'consent.write': ['owner', 'admin'],
  'persons.export': ['owner', 'admin'],
  'persons.erase': ['owner', 'admin'],
  'persons.merge': ['owner', 'admin'],
  'audit.read': ['owner', 'admin'],
  'retention.read': ['owner', 'admin', 'analyst'],
  'retention.configure': ['owner', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSION_MATRIX;
export const PERMISSIONS = Object.keys(PERMISSION_MATRIX) as Permission[];

/** Permissions a read-only API token may still use: those that change nothing. */
export const READ_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  'analyses.read',
  'events.read_raw',
  'pii.read',
  'consent.read',
  'audit.read',
  'retention.read',
]);

/** Whether a role holds a permission. */
export function can(role: Role, permission: Permission): boolean {
  return (PERMISSION_MATRIX[permission] as readonly Role[]).includes(role);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The role named by `value`, or an invalid_role error listing the roles. */
export function parseRole(value: unknown): Role {
  if (isRole(value)) return value;
  throw new PulseloopError('invalid_role', {
    role: String(value).slice(0, 40),
    ...listDetail('known', ROLES),
  });
}

/** The less powerful of two roles (a token never carries more than its user's membership). */
export function weakerRole(a: Role, b: Role): Role {
  return ROLES.indexOf(a) >= ROLES.indexOf(b) ? a : b;
}
