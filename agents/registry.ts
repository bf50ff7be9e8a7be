import type { BrainKind } from '../protocols/config.ts';
import type { AnyRoleImpl } from '../protocols/role.ts';
import apiDesigner from './api-designer/index.ts';
import planner from './planner/index.ts';
import user from './user/index.ts';
import assistant from './assistant/index.ts';
import tool from './tool/index.ts';
import judge from './judge/index.ts';
import validator from './validator/index.ts';
import prober from './prober/index.ts';
import expander from './expander/index.ts';
import { policyRole, trainerRole } from './trainer/index.ts';

/**
 * When a role works: `seed` plays and checks the round-0 dialogues (and checks the
 * loop's expansions too); `loop` probes and expands in every round; `train` holds the
 * policy (training, generation, scoring).
 */
export type RolePhase = 'seed' | 'loop' | 'train';
/** What answers for a role: a run's `brains` choice (sim or llm), or the policy worker. */
export type RoleBrain = BrainKind | 'policy';

export type RoleEntry = {
  name: string;
  phase: RolePhase;
  /** the brains the role can run; none: it only applies rules or measures */
  brains: readonly RoleBrain[];
  role: AnyRoleImpl;
};

function entry(role: AnyRoleImpl, phase: RolePhase, brains: readonly RoleBrain[]): RoleEntry {
  return { name: role.contract.name, phase, brains, role };
}

/**
 * Every built-in role, one line each. A role joins by adding its line here, or at run
 * time through config (`roles: ["path/to/role.ts"]`) without touching any file.
 */
export const catalogue: readonly RoleEntry[] = [
  entry(apiDesigner, 'seed', ['sim', 'llm']),
  entry(planner, 'seed', ['sim', 'llm']),
  entry(user, 'seed', ['sim', 'llm']),
  entry(assistant, 'seed', ['sim', 'llm']),
  entry(tool, 'seed', ['sim', 'llm']),
  entry(judge, 'seed', ['sim', 'llm']),
  entry(validator, 'seed', []),
  entry(prober, 'loop', []),
  entry(expander, 'loop', ['sim', 'llm']),
  // one policy worker behind both: serve them in the same process so they share it
  entry(trainerRole, 'train', ['policy']),
  entry(policyRole, 'train', ['policy']),
];

/** The built-in roles of the given phases, in catalogue order. */
export function rolesOf(...phases: RolePhase[]): AnyRoleImpl[] {
  return catalogue.filter((e) => phases.includes(e.phase)).map((e) => e.role);
}

/** The round-0 (seed data) roles: what `looptool seed` serves unless told the roles run elsewhere. */
export const seedRoles: AnyRoleImpl[] = rolesOf('seed');

/**
 * The roles `looptool up` serves by default: a pool for seed runs, plus the policy.
 * A loop run serves its own `loop` roles.
 */
export const roles: AnyRoleImpl[] = rolesOf('seed', 'train');
