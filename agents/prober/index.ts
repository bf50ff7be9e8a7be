/** The prober role's public face: what the rest of looptool may import from this folder. */
export { default } from './role.ts';
