-- AlterTable
ALTER TABLE "Job" ADD COLUMN "log" TEXT NOT NULL DEFAULT '';

-- AlterTable
ALTER TABLE "Snapshot" ADD COLUMN "listedQubes" TEXT NOT NULL DEFAULT '[]';

-- AlterTable
ALTER TABLE "Schedule" ADD COLUMN "fullBackup" BOOLEAN NOT NULL DEFAULT false;
