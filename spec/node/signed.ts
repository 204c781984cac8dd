/**
 * Transactions signed with the official driver, for the specs that post them to a node
 * running as a child process, and a plain HTTP post that reports when its request was sent.
 */
import * as http from 'node:http';
import * as bigchaindb from 'bigchaindb-driver';

// The driver's type declarations refuse calls its own tests make; the specs use it as JavaScript does.
/* eslint-disable @typescript-eslint/no-explicit-any */
export const { Connection: DriverConnection, Ed25519Keypair, Transaction: Driver } = bigchaindb as any;
export type Keypair = { publicKey: string; privateKey: string };
export type SignedTx = { id: string; operation: 'CREATE' | 'TRANSFER'; [field: string]: any };

export const keypair = (): Keypair => new Ed25519Keypair();
export const output = (key: string, amount = '1') => Driver.makeOutput(Driver.makeEd25519Condition(key), amount);

/** A CREATE by `owner` with `outputs` (default: one output of 1 to the owner), its asset unique. */
export function signedCreate(owner: Keypair, asset: object, outputs = [output(owner.publicKey)]): SignedTx {
  return Driver.signTransaction(Driver.makeCreateTransaction({ ...asset, salt: Math.random() }, { note: 'signed by the driver' }, outputs, owner.publicKey), owner.privateKey);
}

/** A TRANSFER of output `index` of `coin` (owned by `from`) to `outputs`. */
export function signedTransfer(coin: SignedTx, index: number, from: Keypair, outputs: object[]): SignedTx {
  return Driver.signTransaction(Driver.makeTransferTransaction([{ tx: coin, output_index: index }], outputs, null), from.privateKey);
}

/** An answer from the node: its status and JSON body, and when it came (`performance.now()`). */
export interface Answer {
  readonly status: number;
  readonly body: any;
  readonly at: number;
}

/**
 * Posts `tx` with node:http (through `agent`, e.g. one whose sockets are already open).
 * `sent` resolves once the whole request is handed to the operating system (or the request
 * failed first); `answer` resolves with the node's answer, or rejects when none came
 * (connection refused or cut).
 */
export function postWithHttp(agent: http.Agent, port: number, tx: SignedTx, mode = 'commit'): { sent: Promise<void>; answer: Promise<Answer> } {
  let sent!: () => void;
  const sentPromise = new Promise<void>((done) => (sent = done));
  const answer = new Promise<Answer>((done, fail) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: `/api/v1/transactions?mode=${mode}`, method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => done({ status: response.statusCode!, body: text ? JSON.parse(text) : null, at: performance.now() }));
        response.on('error', fail);
      },
    );
    request.on('finish', sent);
    request.on('error', (error) => {
      sent();
      fail(error);
    });
    request.end(JSON.stringify(tx));
  });
  return { sent: sentPromise, answer };
}
