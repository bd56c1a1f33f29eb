import { execFileSync } from 'node:child_process';

/** Process tests run the built server (`dist/`), exactly what `npm start` runs. */
export default function buildOnce(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
