/** The user role's public face: what the rest of looptool may import from this folder. */
export { default } from './role.ts';
/** The sim user's next turn: `looptool sim --as user` offers it to the person as a suggestion. */
export { simTurn } from './sim.ts';
