/**
 * looptool's public entry point (`import { defineRole } from 'looptool'`): what a role
 * author needs, and nothing of the runtime's internals. A role is a contract (made with
 * `defineContract`, or with a factory such as `reviewerContract`/`curatorContract` when
 * it plugs into an extension point) plus a handler per verb (`defineRole`); it calls
 * other roles through `ctx.call` with their contracts, listed here. docs/adding-a-role.md
 * walks through it.
 */

// roles and contracts
export {
  defineContract,
  defineRole,
  type AnyRoleImpl,
  type CallFn,
  type CallOptions,
  type HandlerContext,
  type Logger,
  type RoleContract,
  type RoleEnv,
  type RoleImpl,
  type VerbArgs,
  type VerbContract,
  type VerbImpl,
  type VerbInput,
  type VerbName,
  type VerbOutput,
} from './protocols/role.ts';
export { LooptoolError, isLooptoolError, type ErrorCode } from './protocols/errors.ts';

// extension points: roles any run can name in its config
export { reviewerContract, ReviewInput, ReviewOutput, ReviewVerdict, REVIEW_VERB, type ReviewerContract } from './protocols/roles/reviewer.ts';
export { curatorContract, CurateInput, CurateOutput, CurateDecision, CURATE_VERB, type CuratorContract } from './protocols/roles/curator.ts';

// the built-in roles' contracts, for calling them
export { ApiDesignerContract } from './protocols/roles/api-designer.ts';
export { PlannerContract } from './protocols/roles/planner.ts';
export { UserContract } from './protocols/roles/user.ts';
export { AssistantContract } from './protocols/roles/assistant.ts';
export { ToolContract } from './protocols/roles/tool.ts';
export { JudgeContract } from './protocols/roles/judge.ts';
export { ValidatorContract } from './protocols/roles/validator.ts';
export { ProberContract } from './protocols/roles/prober.ts';
export { ExpanderContract } from './protocols/roles/expander.ts';
export { PolicyContract, TrainerContract } from './protocols/roles/trainer.ts';

// the data roles exchange
export { deriveRngSeed, RngSeed } from './protocols/rng.ts';
export { canonicalJson, JsonValue } from './protocols/json.ts';
export { ChatMessage, AssistantMessage, ToolMessage } from './protocols/messages.ts';
export { ParamSchema, ToolSpec } from './protocols/toolspec.ts';
export { ToolCall } from './protocols/toolcall.ts';
export { Label, Provenance, Sample, SampleKind, Skill } from './protocols/sample.ts';
