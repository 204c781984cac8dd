/**
 * chainstore: one storage API for ledger nodes over SQLite, PostgreSQL, MongoDB and RethinkDB.
 *
 * @example
 * import { connect, query, schema, recover } from 'chainstore';
 * const conn = await connect();            // embedded SQLite at ./.chainstore/chainstore.db
 * await schema.initDatabase(conn);
 * await recover(conn);
 * await query.writeTransaction(conn, tx);
 * console.log(await query.getTransaction(conn, tx.id));
 * await conn.close();
 *
 * @module chainstore
 */
import * as admin from './admin';
import * as changefeed from './changefeed';
import * as query from './query';
import * as schema from './schema';
import './ledger';
import './defaults';

export { admin, changefeed, query, schema };
export { capabilities } from './capabilities';
export type { Capabilities } from './capabilities';
export type { ReconfigureOptions, DryRunOptions } from './admin';
export { ChangeFeed } from './changefeed';
export type { ChangeEvent, ChangefeedOptions, ListeningFeed } from './changefeed';
export { Connection, connect, registerBackend, setDefaultBackend, listBackends, getDefaultBackend, lazyBackend } from './connection';
export type { BackendFactory } from './connection';
export type { BackendDefaults, ConnectionOptions, ResolvedConfig, TlsOptions } from './config';
export { ConnectionLog, FeedOutage, DEFAULT_SLOW_THRESHOLD } from './log';
export type { Logger, LogFields, LogLevel, LogTopic, FeedPart, ConnectionLogOptions } from './log';
export { generic, registerHandlers, coverage, isGeneric, rejectAsync } from './dispatch';
export type {
  AnyClass, DispatchClass, FailureMode, Generic, GenericOptions, GenericSignature, HandlerFor, HandlerMap, CoverageState,
} from './dispatch';
export {
  ChainstoreError,
  BackendError,
  ConnectionError,
  OperationError,
  DuplicateKeyError,
  UnsupportedOperationError,
  LeaseError,
  ConfigurationError,
  ValidationError,
  RegistrationError,
  NotImplementedError,
  RecoveryError,
} from './errors';
export { recover, utxoChanges } from './ledger';
export type { RecoveryReport } from './ledger';
export type { ChainstoreErrorOptions, LeaseHolder } from './errors';
export { assetIdOf, ownersOf, utxosOf, spentRefsOf, MAX_BATCH, validate as validateRecord } from './model';
export type { RecordKind } from './model';
export type {
  Json, Operation, Transaction, TransactionInput, TransactionOutput, OutputRef, Block, Utxo,
  PreCommitState, ValidatorSet, Election, AbciChain, Asset, Metadata,
} from './model';
export type { TxidsFilter, TextSearchOptions, TextSearchResult, UtxoFilter } from './query';
export { TABLES } from './tables';
export { canonicalJson } from './canonical';
export { LedgerDigest, compareDigests } from './digest';
export type { LedgerDigestReport, TableDigest } from './digest';
export { digestLedger, exportLedger } from './export';
export type { ExportOptions } from './export';
export { DEFAULT_BATCH_SIZE, importLedger } from './import';
export type { ImportOptions, ImportProgress, ImportReport } from './import';
export { readLedgerFile, writeLedgerFile, writeLedgerLines } from './jsonl';
export { migrateLedger } from './migrate';
export type { MigrateOptions, MigrateReport } from './migrate';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pages';
export type { LedgerEntry, ListRecordsOptions, RecordPage, TableRecords } from './pages';
export type { TableName } from './tables';
