import type { AnyRoleImpl } from '../protocols/role.ts';
import apiDesigner from './api-designer/role.ts';
import planner from './planner/role.ts';
import user from './user/role.ts';
import assistant from './assistant/role.ts';
import tool from './tool/role.ts';
import judge from './judge/role.ts';
import validator from './validator/role.ts';
import trainerRoles from './trainer/role.ts';

/** The round-0 (seed data) roles: what `looptool seed` serves unless told the roles run elsewhere. */
export const seedRoles: AnyRoleImpl[] = [apiDesigner, planner, user, assistant, tool, judge, validator];

/**
 * The roles `looptool up` serves by default. A role joins by adding one line here,
 * or at run time through config (`roles: ["path/to/role.ts"]`) without touching any file.
 */
export const roles: AnyRoleImpl[] = [...seedRoles, ...trainerRoles];
