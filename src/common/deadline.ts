// Bounded waits for shutdown steps that depend on something outside the process (Redis, a
// library's own stop): the step gets a deadline, then the caller lets go by force.

/** Waits for `work` at most `ms`: true when it settled (fulfilled or rejected) in time. Never rejects. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
