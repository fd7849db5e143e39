import { fileURLToPath } from 'node:url';

/** The repository root, from dist/harness at run time. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const crdDirectory = `${repoRoot}deploy/helm/herald/crds`;
export const seedDirectory = `${repoRoot}examples/seeds`;
