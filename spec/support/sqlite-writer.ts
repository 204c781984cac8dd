/**
 * A separate process that writes to a SQLite file, for the multi-process specs.
 * Usage: node -r ts-node/register/transpile-only sqlite-writer.ts <file> <label> <count> [sharedId]
 * Writes `count` CREATE transactions one call each (and, with `sharedId`, first tries to write
 * the transaction with that id), then prints one JSON line: { written, duplicates, errors }.
 */
import { DuplicateKeyError, connect, query, schema } from '../../lib';
import { createTx, hexId } from '../conformance/fixtures';

async function main(): Promise<void> {
  const [file, label, count, sharedId] = process.argv.slice(2);
  const conn = await connect({ backend: 'sqlite', name: file });
  await schema.initDatabase(conn);
  const result = { written: 0, duplicates: 0, errors: [] as string[] };
  const attempt = async (tx: ReturnType<typeof createTx>) => {
    try {
      await query.writeTransaction(conn, tx);
      result.written++;
    } catch (error) {
      if (error instanceof DuplicateKeyError) result.duplicates++;
      else result.errors.push(String(error));
    }
  };
  if (sharedId) await attempt(createTx({ id: sharedId, data: { shared: true } }));
  for (let i = 0; i < Number(count); i++) await attempt(createTx({ id: hexId(`${label}/${i}`), data: { label, i } }));
  await conn.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
