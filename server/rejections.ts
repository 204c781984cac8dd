/**
 * Why the node refuses a transaction, named as BigchainDB names it: the exception class of
 * `bigchaindb.common.exceptions` and its message, which BigchainDB's HTTP API reports as
 * `Invalid transaction (<Name>): <message>`.
 */

/** The names of BigchainDB's validation exceptions the node raises. */
export type RejectionName =
  | 'InvalidHash'
  | 'SchemaValidationError'
  | 'ValidationError'
  | 'InvalidSignature'
  | 'AmountError'
  | 'ThresholdTooDeep'
  | 'DuplicateTransaction'
  | 'InputDoesNotExist'
  | 'DoubleSpend'
  | 'CriticalDoubleSpend'
  | 'AssetIdMismatch';

/**
 * A transaction the node will not accept, with the HTTP status BigchainDB answers (400, or
 * 500 for `CriticalDoubleSpend`, which means the stored ledger itself is inconsistent).
 *
 * @example
 * throw new Rejection('DoubleSpend', `input \`${txid}\` was already spent`);
 * // HTTP 400 {"status": 400, "message": "Invalid transaction (DoubleSpend): input `...` was already spent"}
 */
export class Rejection extends Error {
  readonly rejection: RejectionName;
  readonly status: number;

  constructor(rejection: RejectionName, message: string, status = 400) {
    super(message);
    this.name = 'Rejection';
    this.rejection = rejection;
    this.status = status;
  }

  /** The message BigchainDB's HTTP API sends for it. */
  get httpMessage(): string {
    return this.rejection === 'SchemaValidationError' ? `Invalid transaction schema: ${this.message}` : `Invalid transaction (${this.rejection}): ${this.message}`;
  }
}
