-- CreateTable
CREATE TABLE "Repository" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "engine" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "passwordFile" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Job" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "repositoryId" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "bytesDone" BIGINT NOT NULL DEFAULT 0,
    "bytesExpected" BIGINT,
    "error" TEXT,
    "snapshotRef" TEXT,
    "pid" INTEGER,
    CONSTRAINT "Job_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "Repository" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Snapshot" (
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
    CONSTRAINT "Snapshot_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "Repository" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Snapshot_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SnapshotQube" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "snapshotId" INTEGER NOT NULL,
    "qid" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "backupPath" TEXT NOT NULL,
    "backupSizeBytes" BIGINT NOT NULL,
    CONSTRAINT "SnapshotQube_snapshotId_fkey" FOREIGN KEY ("snapshotId") REFERENCES "Snapshot" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SnapshotVolume" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "qubeId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "streamBytes" BIGINT NOT NULL,
    "chunks" INTEGER NOT NULL,
    CONSTRAINT "SnapshotVolume_qubeId_fkey" FOREIGN KEY ("qubeId") REFERENCES "SnapshotQube" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Repository_name_key" ON "Repository"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Snapshot_jobId_key" ON "Snapshot"("jobId");

-- CreateIndex
CREATE UNIQUE INDEX "Snapshot_repositoryId_engineSnapshotId_key" ON "Snapshot"("repositoryId", "engineSnapshotId");

