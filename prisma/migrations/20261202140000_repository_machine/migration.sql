-- AlterTable (written by hand: prisma's diff rebuilds the table, SQLite adds this column in place)
ALTER TABLE "Repository" ADD COLUMN "machine" TEXT;
