-- AlterTable (written by hand: prisma's diff rebuilds the table, SQLite adds these columns in place)
ALTER TABLE "Repository" ADD COLUMN "caCertFile" TEXT;
ALTER TABLE "Repository" ADD COLUMN "appendOnly" BOOLEAN NOT NULL DEFAULT false;
