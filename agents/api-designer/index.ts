/** The api-designer role's public face: what the rest of looptool may import from this folder. */
export { default } from './role.ts';
/** One BFCL function doc as a tool spec, as the `import` verb converts it (the loop's BFCL evaluation reads them too). */
export { convertFunction } from './import.ts';
