import type { AnyRoleImpl } from '../protocols/role.ts';

/**
 * The roles `looptool up` serves by default. A role joins by adding one line here,
 * or at run time through config (`roles: ["path/to/role.ts"]`) without touching any file.
 */
export const roles: AnyRoleImpl[] = [];
