-- AlterTable
ALTER TABLE "Snapshot" ADD COLUMN "sideSnapshotId" TEXT;

