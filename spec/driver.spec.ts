/**
 * Transactions built and signed by BigchainDB's official JavaScript driver
 * (`bigchaindb-driver`), stored and read back through chainstore on every engine here: an
 * Ed25519 CREATE, a 2-of-3 threshold output, a preimage output (the driver gives it
 * `public_keys: []`), a CREATE with two issuers, and a signed TRANSFER that splits an output.
 * Nothing here is written by hand: what the driver makes is what a BigchainDB application
 * sends, and it must come back exactly as written.
 */
import { expect } from 'chai';
import { Ed25519Keypair, Transaction as Driver } from 'bigchaindb-driver';
import { type Connection, type Transaction, connect, query, schema, utxosOf } from '../lib';
import { connectPostgres, skipWithoutPostgres, truncateAll } from './support/postgres';

/** A driver transaction as chainstore types it (the driver's types are its own). */
const asLedger = (tx: unknown) => JSON.parse(JSON.stringify(tx)) as Transaction;
const ids = (txs: readonly Transaction[]) => txs.map((tx) => tx.id);

/** What the driver makes, once per run: keys, three CREATEs and a TRANSFER of the first. */
function driverTransactions() {
  const [alice, bob, carol] = [new Ed25519Keypair(), new Ed25519Keypair(), new Ed25519Keypair()];
  const ed25519 = (key: string) => Driver.makeEd25519Condition(key);
  const coins = Driver.signTransaction(
    // No metadata: the driver's types leave out the null it accepts and writes.
    Driver.makeCreateTransaction({ coin: 'café ☕ 🪙', serial: 7 }, null as never, [Driver.makeOutput(ed25519(alice.publicKey), '10')], alice.publicKey),
    alice.privateKey,
  );
  const threshold = Driver.makeThresholdCondition(2, [
    Driver.makeEd25519Condition(alice.publicKey, false),
    Driver.makeEd25519Condition(bob.publicKey, false),
    Driver.makeEd25519Condition(carol.publicKey, false),
  ] as never);
  const shared = Driver.signTransaction(
    Driver.makeCreateTransaction(
      { vault: 'shared' },
      { note: 'two of three keys spend it' },
      [Driver.makeOutput(threshold as never, '3'), Driver.makeOutput(Driver.makeSha256Condition('open sesame') as never, '1')],
      bob.publicKey,
    ),
    bob.privateKey,
  );
  // One input per issuer (BigchainDB's node accepts one; storing is not the node's check).
  const joint = Driver.signTransaction(
    Driver.makeCreateTransaction({ joint: true }, { issuers: 2 }, [Driver.makeOutput(ed25519(carol.publicKey))], alice.publicKey, bob.publicKey),
    alice.privateKey,
    bob.privateKey,
  );
  const split = Driver.signTransaction(
    Driver.makeTransferTransaction(
      [{ tx: coins, output_index: 0 }],
      [Driver.makeOutput(ed25519(bob.publicKey), '4'), Driver.makeOutput(ed25519(alice.publicKey), '6')],
      { note: 'split 4 / 6' },
    ),
    alice.privateKey,
  );
  return {
    keys: { alice: alice.publicKey, bob: bob.publicKey, carol: carol.publicKey },
    coins: asLedger(coins),
    shared: asLedger(shared),
    joint: asLedger(joint),
    split: asLedger(split),
  };
}

/** The driver's transactions, committed in two blocks, then read back through every lookup. */
function describeDriverTransactions(connectEngine: () => Promise<Connection>, reset: (conn: Connection) => Promise<void>): void {
  let conn: Connection;
  const made = driverTransactions();
  const { alice, bob, carol } = made.keys;

  before(async function () {
    conn = await connectEngine();
  });
  beforeEach(async function () {
    await reset(conn);
    await query.commitBlock(conn, { height: 1, app_hash: 'genesis', transactions: ids([made.coins, made.shared, made.joint]) }, [made.coins, made.shared, made.joint]);
    await query.commitBlock(conn, { height: 2, app_hash: 'split', transactions: [made.split.id] }, [made.split]);
  });
  after(async function () {
    await conn?.close();
  });

  it('the driver makes what this spec says it makes', function () {
    expect(made.shared.outputs[0].public_keys, 'a threshold lists its sub-keys').to.have.members([alice, bob, carol]);
    expect(made.shared.outputs[1].public_keys, 'a preimage condition names no key').to.deep.equal([]);
    expect(made.joint.inputs).to.have.length(2);
    expect(made.split.inputs[0].fulfills).to.deep.equal({ transaction_id: made.coins.id, output_index: 0 });
  });

  it('returns every transaction exactly as the driver made it', async function () {
    const all = [made.coins, made.shared, made.joint, made.split];
    expect(await query.getTransactions(conn, ids(all))).to.deep.equal(all);
    for (const tx of all) expect(await query.getTransaction(conn, tx.id)).to.deep.equal(tx);
    expect(await query.getBlockWithTransaction(conn, made.split.id)).to.deep.equal([2]);
  });

  it('keeps asset data and metadata, a null metadata record included', async function () {
    expect(await query.getAsset(conn, made.coins.id)).to.deep.equal({ id: made.coins.id, data: { coin: 'café ☕ 🪙', serial: 7 } });
    expect(await query.getMetadata(conn, [made.coins.id, made.split.id])).to.deep.equal([
      { id: made.coins.id, metadata: null },
      { id: made.split.id, metadata: { note: 'split 4 / 6' } },
    ]);
  });

  it('finds outputs by owner: threshold sub-keys own, a preimage output has no owner', async function () {
    expect(ids(await query.getOwnedIds(conn, carol))).to.have.members([made.shared.id, made.joint.id]);
    expect(ids(await query.getOwnedIds(conn, bob))).to.have.members([made.shared.id, made.split.id]);
    expect(ids(await query.getAssetTokensForPublicKey(conn, made.coins.id, alice)), 'the CREATE and the change').to.deep.equal([made.coins.id, made.split.id]);
    expect(ids(await query.getAssetTokensForPublicKey(conn, made.shared.id, alice)), 'a 2-of-3 output is no one key’s alone').to.deep.equal([]);
    const unspentOfShared = await query.getUnspentOutputs(conn, { transaction_id: made.shared.id });
    expect(unspentOfShared).to.deep.equal(utxosOf(made.shared));
    expect(await query.getUnspentOutputs(conn, { public_key: carol })).to.have.deep.members([utxosOf(made.shared)[0], ...utxosOf(made.joint)]);
  });

  it('follows the signed TRANSFER: the spent output, the asset history, the UTXO set', async function () {
    expect(ids(await query.getSpent(conn, made.coins.id, 0))).to.deep.equal([made.split.id]);
    expect(ids(await query.getSpendingTransactions(conn, [{ transaction_id: made.coins.id, output_index: 0 }]))).to.deep.equal([made.split.id]);
    expect(await query.getTxidsFiltered(conn, made.coins.id)).to.deep.equal([made.coins.id, made.split.id]);
    expect(await query.getTxidsFiltered(conn, made.coins.id, { operation: 'TRANSFER', lastTx: true })).to.deep.equal([made.split.id]);
    expect(await query.getUnspentOutputs(conn, { asset_id: made.coins.id })).to.have.deep.members(utxosOf(made.split));
  });
}

describe('transactions made by the official bigchaindb-driver', function () {
  describe('sqlite', function () {
    describeDriverTransactions(
      () => connect({ backend: 'sqlite', name: ':memory:' }),
      async (conn) => {
        await schema.dropDatabase(conn);
        await schema.initDatabase(conn);
      },
    );
  });

  describe('postgres', function () {
    before(skipWithoutPostgres);
    describeDriverTransactions(() => connectPostgres(), truncateAll);
  });
});
