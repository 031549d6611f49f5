import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          setupFiles: ["test/setup.ts"],
          // In memory, against a fake runner: milliseconds each, so anything this slow is a
          // hang (with room for a machine busy with the integration tier or a CPU hog).
          testTimeout: 5_000,
          hookTimeout: 5_000,
          pool: "threads",
          // The units keep no process-wide state a file could leak to the next, and a fresh
          // module graph per file costs ten times the tests themselves.
          isolate: false,
          // Runs before the integration tier: a broken unit shows in seconds.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/unit/**"],
          setupFiles: ["test/setup.ts"],
          // Integration tests start real runner processes; give them room on a 2-core VM.
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: "forks",
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
