namespace FedGrains.Learning.Tests;

public sealed class NativeMemoryTuningTests
{
    [Fact]
    public void Without_one_malloc_arena_the_advice_names_the_variable_and_the_fix()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(NativeMemoryTuning.ArenaAdvice(null)); // malloc arenas are glibc's
            return;
        }

        Assert.Null(NativeMemoryTuning.ArenaAdvice("1"));
        Assert.Contains("MALLOC_ARENA_MAX is unset", NativeMemoryTuning.ArenaAdvice(null));
        var advice = NativeMemoryTuning.ArenaAdvice("8");
        Assert.Contains("MALLOC_ARENA_MAX is '8'", advice);
        Assert.Contains("Start the process with MALLOC_ARENA_MAX=1", advice);
    }
}
