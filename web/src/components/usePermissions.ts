import { api } from '../api';
import { useAsync } from './useAsync';

/** What GET /api/v1/projects/:id/permissions answers: the caller's role and the permission matrix. */
export interface Permissions {
  role: string;
  readOnly: boolean;
  matrix: Record<string, string[]>;
}

/**
 * The caller's permissions in the project at `base`, and `can`, for actions that change something:
 * false until the permissions are known, and for a read-only token (the server refuses it anyway;
 * the page then offers no button that would fail).
 */
export function usePermissions(base: string) {
  const permissions = useAsync(() => api.get<Permissions>(`${base}/permissions`), [base]);
  const can = (permission: string): boolean => {
    const p = permissions.data;
    return p ? !p.readOnly && (p.matrix[permission]?.includes(p.role) ?? false) : false;
  };
  return { permissions, can };
}
