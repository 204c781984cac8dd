/**
 * The mongodb driver, imported in one place: loading this backend without the `mongodb`
 * package installed fails here, and connect() turns that into a ConfigurationError naming it.
 */
export {
  BSON,
  MongoBulkWriteError,
  MongoClient,
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoParseError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  ObjectId,
  Timestamp,
} from 'mongodb';
export type {
  AnyBulkWriteOperation,
  ChangeStream,
  ChangeStreamDocument,
  ChangeStreamOptions,
  ClientSession,
  Collection,
  Db,
  Document,
  Filter,
  IndexDescription,
  MongoClientOptions,
  ResumeToken,
  Sort,
  TransactionOptions,
} from 'mongodb';
