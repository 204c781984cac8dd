/**
 * The ledger check of a post (BigchainDB's `check_tx`), shared by the posts that arrive
 * together: under load, many posts are read in one turn of the event loop, and one set-based
 * read of the ledger for all of them costs little more than one for each.
 */
import type { Connection } from '../lib';
import type { Rejection } from './rejections';
import { type CheckedTransaction, checkAgainstLedger } from './validation';

interface Waiting {
  readonly checked: CheckedTransaction;
  readonly resolve: (verdict: Rejection | null) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Checks posted transactions against the committed ledger, each on its own (two posts that
 * spend the same output both pass here; the block producer keeps the first), signatures
 * included, gathering the posts of one turn of the event loop into one check.
 *
 * @example
 * const admission = new Admission(conn);
 * const verdict = await admission.check(checkTransaction(body));
 * if (verdict) throw verdict;
 */
export class Admission {
  readonly #conn: Connection;
  #gathering: Waiting[] | null = null;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** Resolves with null if the transaction passes, or the Rejection that refuses it. */
  check(checked: CheckedTransaction): Promise<Rejection | null> {
    return new Promise((resolve, reject) => {
      if (!this.#gathering) {
        this.#gathering = [];
        // setImmediate runs after the I/O callbacks of this turn: every post already read joins.
        setImmediate(() => this.#checkGathered());
      }
      this.#gathering.push({ checked, resolve, reject });
    });
  }

  async #checkGathered(): Promise<void> {
    const group = this.#gathering!;
    this.#gathering = null;
    try {
      const verdicts = await checkAgainstLedger(this.#conn, group.map((waiting) => waiting.checked), { signatures: true, against: 'ledger' });
      group.forEach((waiting, index) => waiting.resolve(verdicts[index]));
    } catch (error) {
      for (const waiting of group) waiting.reject(error);
    }
  }
}
