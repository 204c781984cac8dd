/**
 * The conformance suite on PostgreSQL (skipped with a reason when no server answers).
 */
import { runConformance } from '../conformance';
import { connectPostgres, otherPostgres, skipWithoutPostgres, truncateAll } from '../support/postgres';

describe('postgres backend', function () {
  before(skipWithoutPostgres);

  runConformance({
    name: 'postgres',
    connect: () => connectPostgres(),
    reset: truncateAll,
    otherDatabase: () => otherPostgres('second'),
  });
});
