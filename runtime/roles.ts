import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkRole, type AnyRoleImpl } from '../protocols/role.ts';
import type { RolePhase } from '../agents/registry.ts';

function isRole(x: unknown): x is AnyRoleImpl {
  const r = x as AnyRoleImpl;
  return !!r && typeof r === 'object' && !!r.contract && typeof r.contract.name === 'string' && !!r.verbs;
}

/**
 * Loads roles from module files (a default export that is a role or an array of roles):
 * how a new role joins a run without editing the runtime.
 */
export async function loadRoleModules(paths: string[]): Promise<AnyRoleImpl[]> {
  const out: AnyRoleImpl[] = [];
  for (const p of paths) {
    const mod = (await import(pathToFileURL(resolve(p)).href)) as { default?: unknown };
    const list = Array.isArray(mod.default) ? mod.default : [mod.default];
    const bad = list.filter((r) => !isRole(r));
    if (bad.length || list.length === 0) throw new Error(`${p}: the default export must be a role made with defineRole (or an array of them)`);
    for (const r of list) checkRole(r, p);
    out.push(...(list as AnyRoleImpl[]));
  }
  return out;
}

/**
 * The built-in roles of the given phases (every one when none is named), from the
 * catalogue in agents/registry.ts; loaded on demand, so a command that serves no role
 * does not load them.
 */
export async function builtinRoles(...phases: RolePhase[]): Promise<AnyRoleImpl[]> {
  const { catalogue, rolesOf } = await import('../agents/registry.ts');
  return phases.length ? rolesOf(...phases) : catalogue.map((e) => e.role);
}
