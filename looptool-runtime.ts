/**
 * looptool's runtime entry point (`import { LooptoolNode } from 'looptool/runtime'`): how
 * a script or a test of your own hosts roles and calls them. `LooptoolNode.start` opens a
 * bus (an embedded nats-server, or NATS_URL's cluster with `busConfigFromEnv()`),
 * `node.serve(role)` hosts a role, `node.call(contract, verb, input)` calls one;
 * `loadRoleModules` loads role files the way a run's `roles` config does, and
 * `builtinRoles(phase...)` gives looptool's own roles from the catalogue.
 */
export { LooptoolNode, type NodeOptions } from './runtime/bus/node.ts';
export { busConfigFromEnv } from './runtime/bus/connect.ts';
export { builtinRoles, loadRoleModules } from './runtime/roles.ts';
export type { RoleBrain, RolePhase } from './agents/registry.ts';
