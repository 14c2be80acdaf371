/**
 * Prints the configuration table of the README from the one schema the loader validates with,
 * so the documentation cannot drift from the code (test/readme.test.ts checks it).
 *
 *   npx tsx scripts/tools/config-table.ts
 */
import { OPTIONS } from '../../src/config/schema.ts';

export function configTable(): string {
  const rows = OPTIONS.map((o) => {
    const def = o.default === undefined ? '(unset)' : `\`${String(o.default)}\``;
    return `| \`${o.key}\` | \`${o.env}\` | ${def} | ${o.doc} |`;
  });
  return ['| key (JSON file) | environment variable | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(configTable());
