/** The oldest Node.js audithook runs on; package.json `engines` says the same (test/startup/node-version.test.ts keeps them equal). */
export const MIN_NODE_VERSION = '22.17.0';

function parseVersion(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
  return [major, minor, patch];
}

/** Why this Node.js cannot run audithook (one line), or null when it can; a value, so it is testable on any Node. */
export function nodeVersionProblem(current: string, minimum: string = MIN_NODE_VERSION): string | null {
  const have = parseVersion(current);
  const need = parseVersion(minimum);
  for (let i = 0; i < 3; i++) {
    if (have[i]! > need[i]!) return null;
    if (have[i]! < need[i]!) {
      const shown = need[2] === 0 ? `${need[0]}.${need[1]}` : need.join('.');
      return (
        `needs Node.js >= ${shown} (this is v${current.replace(/^v/, '')}); run it through npm (npm start, npx audithook), ` +
        `which uses the project's own Node 24 installed by npm ci, or install Node 24`
      );
    }
  }
  return null;
}
