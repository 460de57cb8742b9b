using System.Reflection.Emit;
using System.Reflection;
using TorchSharp;

namespace FedGrains.Learning.Tests;

/// <summary>
/// Finds, in compiled code, every place that hands libtorch a Scalar nobody holds. A TorchSharp Scalar owns native
/// memory and has a finalizer; one made for a single call (an implicit conversion such as <c>t * 2.0</c>, or one
/// TorchSharp makes inside <c>a + b</c>, <c>add_(t)</c> or <c>square()</c>) is unreachable while the native call runs,
/// so a collection started by another thread can free it mid-call. That failed CI runs at random with libtorch's
/// "INTERNAL ASSERT FAILED at Scalar.h".
/// </summary>
internal static class TemporaryScalarScanner
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>TorchSharp's methods that create a Scalar of their own before calling libtorch, directly or through each other.</summary>
    public static readonly Lazy<HashSet<MethodBase>> UnsafeTorchSharpMethods = new(() =>
    {
        var torchSharp = typeof(Scalar).Assembly;
        var creates = new HashSet<MethodBase>();
        var callers = new Dictionary<MethodBase, List<MethodBase>>();
        foreach (var method in MethodsOf(torchSharp))
        {
            if (IsScalarFactory(method)) continue;
            foreach (var (_, callee, _) in Calls(method))
            {
                if (IsScalarFactory(callee)) creates.Add(method);
                else if (callee.Module == method.Module) (callers.TryGetValue(callee, out var list) ? list : callers[callee] = []).Add(method);
            }
        }
        var work = new Queue<MethodBase>(creates);
        while (work.TryDequeue(out var method))
            foreach (var caller in callers.GetValueOrDefault(method) ?? [])
                if (creates.Add(caller)) work.Enqueue(caller);
        return creates;
    });

    /// <summary>One line per offending call: the method that makes it and what it calls.</summary>
    public static List<string> Violations(Assembly assembly)
    {
        var found = new List<string>();
        foreach (var method in MethodsOf(assembly))
        {
            var calls = Calls(method).ToList();
            foreach (var (offset, callee, next) in calls)
            {
                string where = $"{method.DeclaringType?.FullName}.{method.Name} (IL_{offset:x4})";
                if (callee.Module.Assembly == typeof(Scalar).Assembly && UnsafeTorchSharpMethods.Value.Contains(callee))
                    found.Add($"{where} calls {callee.DeclaringType?.Name}.{callee.Name}({Parameters(callee)}), which makes a temporary Scalar");
                else if (IsScalarFactory(callee) && !IsHeld(method, next))
                    found.Add($"{where} passes a temporary Scalar (from {callee.Name}): hold it in a `using` local or a static field");
            }
        }
        return found;
    }

    // A new Scalar is safe when stored in a field (it lives with its owner) or in a local that is disposed later
    // (`using`), which keeps it reachable until then.
    private static bool IsHeld(MethodBase method, (OpCode Op, int Operand)? next)
    {
        if (next is not { } n) return false;
        if (n.Op == OpCodes.Stsfld || n.Op == OpCodes.Stfld) return true;
        int? local = StoredLocal(n);
        if (local is null) return false;
        var instructions = Instructions(method).ToList();
        for (int k = 0; k + 1 < instructions.Count; k++)
        {
            if (LoadedLocal(instructions[k]) != local) continue;
            // `using` disposes through IDisposable (after a null check) or the Scalar's own Dispose.
            for (int j = k + 1; j < Math.Min(k + 4, instructions.Count); j++)
                if (instructions[j].Callee is { Name: "Dispose" }) return true;
        }
        return false;
    }

    private static int? StoredLocal((OpCode Op, int Operand) i) =>
        i.Op == OpCodes.Stloc_0 ? 0 : i.Op == OpCodes.Stloc_1 ? 1 : i.Op == OpCodes.Stloc_2 ? 2 : i.Op == OpCodes.Stloc_3 ? 3
        : i.Op == OpCodes.Stloc_S || i.Op == OpCodes.Stloc ? i.Operand : null;

    private static int? LoadedLocal((int Offset, OpCode Op, int Operand, MethodBase? Callee) i) =>
        i.Op == OpCodes.Ldloc_0 ? 0 : i.Op == OpCodes.Ldloc_1 ? 1 : i.Op == OpCodes.Ldloc_2 ? 2 : i.Op == OpCodes.Ldloc_3 ? 3
        : i.Op == OpCodes.Ldloc_S || i.Op == OpCodes.Ldloc ? i.Operand : null;

    private static bool IsScalarFactory(MethodBase method) =>
        method is MethodInfo { ReturnType: var r } && r == typeof(Scalar)
        && (method.DeclaringType == typeof(Scalar) && method.Name == "op_Implicit"
            || method.DeclaringType?.Name == "ScalarExtensionMethods" && method.Name.StartsWith("To", StringComparison.Ordinal));

    private static string Parameters(MethodBase method) => string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name));

    private static IEnumerable<MethodBase> MethodsOf(Assembly assembly)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types.OfType<Type>().ToArray(); }
        return types.SelectMany(t => t.GetMethods(all).Cast<MethodBase>().Concat(t.GetConstructors(all)));
    }

    private static IEnumerable<(int Offset, MethodBase Callee, (OpCode Op, int Operand)? Next)> Calls(MethodBase method)
    {
        var instructions = Instructions(method).ToList();
        for (int k = 0; k < instructions.Count; k++)
            if (instructions[k].Callee is { } callee)
                yield return (instructions[k].Offset, callee, k + 1 < instructions.Count ? (instructions[k + 1].Op, instructions[k + 1].Operand) : null);
    }

    private static IEnumerable<(int Offset, OpCode Op, int Operand, MethodBase? Callee)> Instructions(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or BadImageFormatException or NotSupportedException) { yield break; }
        if (il is null) yield break;
        for (int i = 0; i < il.Length;)
        {
            int offset = i;
            var op = il[i] == 0xFE ? OpCodesByValue[unchecked((short)(0xFE00 | il[i + 1]))] : OpCodesByValue[il[i]];
            i += op.Size;
            int size = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            int operand = size switch { 1 => il[i], 2 => BitConverter.ToUInt16(il, i), 4 => BitConverter.ToInt32(il, i), _ => 0 };
            MethodBase? callee = null;
            if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj)
            {
                try
                {
                    callee = method.Module.ResolveMethod(operand,
                        method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null,
                        method.IsGenericMethod ? method.GetGenericArguments() : null);
                }
                catch (Exception e) when (e is ArgumentException or MissingMethodException or TypeLoadException or BadImageFormatException) { }
            }
            yield return (offset, op, operand, callee);
            i += size;
        }
    }
}
