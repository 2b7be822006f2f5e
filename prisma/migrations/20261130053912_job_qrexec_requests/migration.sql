-- AlterTable
ALTER TABLE "Job" ADD COLUMN "percent" REAL;
ALTER TABLE "Job" ADD COLUMN "request" TEXT;
ALTER TABLE "Job" ADD COLUMN "summary" TEXT;

