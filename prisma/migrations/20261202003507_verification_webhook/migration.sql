-- AlterTable
ALTER TABLE "Repository" ADD COLUMN "webhookLastAt" DATETIME;
ALTER TABLE "Repository" ADD COLUMN "webhookLastError" TEXT;
ALTER TABLE "Repository" ADD COLUMN "webhookMethod" TEXT;
ALTER TABLE "Repository" ADD COLUMN "webhookUrl" TEXT;

-- AlterTable
ALTER TABLE "MaintenanceRun" ADD COLUMN "snapshotRef" TEXT;

