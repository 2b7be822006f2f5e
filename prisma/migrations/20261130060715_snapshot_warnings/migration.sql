-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Snapshot" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "repositoryId" INTEGER NOT NULL,
    "jobId" INTEGER,
    "engineSnapshotId" TEXT NOT NULL,
    "backupId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "logicalBytes" BIGINT NOT NULL,
    "addedBytes" BIGINT NOT NULL,
    "repositoryBytes" BIGINT NOT NULL,
    "streamSha256" TEXT NOT NULL,
    "compressed" BOOLEAN NOT NULL,
    "durationSeconds" REAL NOT NULL,
    "warnings" TEXT NOT NULL DEFAULT '[]',
    CONSTRAINT "Snapshot_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "Repository" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Snapshot_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Snapshot" ("addedBytes", "backupId", "compressed", "createdAt", "durationSeconds", "engineSnapshotId", "id", "jobId", "logicalBytes", "repositoryBytes", "repositoryId", "streamSha256") SELECT "addedBytes", "backupId", "compressed", "createdAt", "durationSeconds", "engineSnapshotId", "id", "jobId", "logicalBytes", "repositoryBytes", "repositoryId", "streamSha256" FROM "Snapshot";
DROP TABLE "Snapshot";
ALTER TABLE "new_Snapshot" RENAME TO "Snapshot";
CREATE UNIQUE INDEX "Snapshot_jobId_key" ON "Snapshot"("jobId");
CREATE UNIQUE INDEX "Snapshot_repositoryId_engineSnapshotId_key" ON "Snapshot"("repositoryId", "engineSnapshotId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

