/**
 * The conformance suite on RethinkDB, when CHAINSTORE_TEST_RETHINKDB_URL points at a server
 * (skipped with one line saying how to start one otherwise). The database named in the URL
 * (`chainstore_test` when it names none) is emptied before every test.
 */
import { runConformance } from '../conformance';
import { connectRethink, emptyRethink, skipWithoutRethink } from '../support/rethinkdb';

describe('rethinkdb backend', function () {
  // Creating a RethinkDB table takes a second or so: the first reset, and the test that drops
  // and re-creates the database, create ten of them.
  this.timeout(120_000);
  before(skipWithoutRethink);

  runConformance({
    name: 'rethinkdb',
    connect: () => connectRethink(),
    reset: emptyRethink,
  });
});
