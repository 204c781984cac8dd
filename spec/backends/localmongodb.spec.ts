/**
 * The conformance suite on MongoDB, against the server CHAINSTORE_TEST_MONGODB_URL names
 * (skipped, with one line saying so, when it is not set).
 */
import { runConformance } from '../conformance';
import { connectMongo, emptyDatabase, skipWithoutMongo } from '../support/mongodb';

describe('localmongodb backend', function () {
  before(skipWithoutMongo);

  runConformance({
    name: 'localmongodb',
    connect: () => connectMongo(),
    reset: emptyDatabase,
  });
});
