using System.Globalization;
using System.Numerics;
using Kneron.Quantization.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config;

/// <summary>A closed numeric interval check with the wording that error messages use.</summary>
internal sealed record NumberRange(double Min, bool MinExclusive, double Max, bool MaxExclusive)
{
    public static readonly NumberRange Any = new(double.NegativeInfinity, false, double.PositiveInfinity, false);

    /// <summary>0 &lt; x ≤ 1, the range of ratios and quantiles.</summary>
    public static readonly NumberRange UnitInterval = new(0, true, 1, false);

    public static readonly NumberRange Positive = new(0, true, double.PositiveInfinity, false);

    public static readonly NumberRange NonNegative = new(0, false, double.PositiveInfinity, false);

    public bool Contains(double x) =>
        (MinExclusive ? x > Min : x >= Min) && (MaxExclusive ? x < Max : x <= Max);

    public string Describe()
    {
        if (double.IsPositiveInfinity(Max))
        {
            return MinExclusive ? $"greater than {Format(Min)}" : $"at least {Format(Min)}";
        }

        var low = MinExclusive ? $"{Format(Min)} (exclusive)" : Format(Min);
        var high = MaxExclusive ? $"{Format(Max)} (exclusive)" : Format(Max);
        return $"between {low} and {high}";
    }

    private static string Format(double x) => x.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Typed reads of config values. Each read returns the value with the
/// location of its YAML node, or the default (located at the file's (1,1),
/// <c>IsSet</c> false) when the key is absent or null. Numbers and booleans
/// must be plain YAML scalars: a quoted <c>"0.5"</c> is text, as YAML defines it.
/// An invalid value is recorded in the document and read as the default (or
/// null), so that the reading goes on to find the other errors.
/// </summary>
internal static class ConfigValues
{
    public static Located<T> Default<T>(ConfigSection section, T value) =>
        new(value, section.Document.DefaultLocation, false);

    /// <summary>Runs <paramref name="read"/>; on a config error, records it and returns <paramref name="fallback"/>.</summary>
    public static T Recover<T>(ConfigSection section, T fallback, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (KnqException error)
        {
            section.Document.AddError(error);
            return fallback;
        }
    }

    public static Located<double> ReadNumber(ConfigSection section, string key, double defaultValue, NumberRange range) =>
        Recover(section, Default(section, defaultValue), () => ReadNumberOrThrow(section, key, defaultValue, range));

    public static Located<int> ReadInt(ConfigSection section, string key, int defaultValue, int min) =>
        Recover(section, Default(section, defaultValue), () => ReadIntOrThrow(section, key, defaultValue, min));

    public static Located<int?> ReadOptionalInt(ConfigSection section, string key, int min) =>
        Recover(section, Default<int?>(section, null), () => ReadOptionalIntOrThrow(section, key, min));

    public static Located<bool> ReadBool(ConfigSection section, string key, bool defaultValue) =>
        Recover(section, Default(section, defaultValue), () => ReadBoolOrThrow(section, key, defaultValue));

    /// <summary>Reads one of a fixed set of words, compared without regard to case.</summary>
    public static Located<T> ReadEnum<T>(ConfigSection section, string key, T defaultValue, IReadOnlyList<(string Spelling, T Value)> allowed) =>
        Recover(section, Default(section, defaultValue), () => ReadEnumOrThrow(section, key, defaultValue, allowed));

    /// <summary>Reads one path or glob, or a list of them; an empty list is rejected.</summary>
    public static Located<IReadOnlyList<string>> ReadStringList(ConfigSection section, string key) =>
        Recover(section, Default<IReadOnlyList<string>>(section, Array.Empty<string>()), () => ReadStringListOrThrow(section, key));

    /// <summary>
    /// Reads a number or a list of numbers with an allowed count of entries.
    /// A single number is returned as a one-entry list, which users broadcast.
    /// </summary>
    public static Located<IReadOnlyList<float>> ReadNumberList(
        ConfigSection section, string key, IReadOnlyList<float> defaultValue, int[] allowedCounts, NumberRange range) =>
        Recover(section, Default(section, defaultValue), () => ReadNumberListOrThrow(section, key, defaultValue, allowedCounts, range));

    /// <summary>Reads a list of exactly <paramref name="count"/> integers ≥ 1 (any count when null); null when absent or invalid.</summary>
    public static (List<long> Values, YamlNode Node)? ReadPositiveInts(ConfigSection section, string key, int? count) =>
        Recover(section, null, () => ReadPositiveIntsOrThrow(section, key, count));

    private static Located<double> ReadNumberOrThrow(ConfigSection section, string key, double defaultValue, NumberRange range)
    {
        if (!section.TryGet(key, out _, out var node))
        {
            return Default(section, defaultValue);
        }

        var value = ParseNumber(section, key, node);
        if (!range.Contains(value))
        {
            throw section.Document.Error(ConfigCodes.OutOfRange, node,
                $"{section.KeyPath(key)} must be {range.Describe()}, got {Text(node)}.");
        }

        return Set(section, node, value);
    }

    private static Located<int> ReadIntOrThrow(ConfigSection section, string key, int defaultValue, int min)
    {
        if (!section.TryGet(key, out _, out var node))
        {
            return Default(section, defaultValue);
        }

        return Set(section, node, ParseInt(section, key, node, min));
    }

    private static Located<int?> ReadOptionalIntOrThrow(ConfigSection section, string key, int min)
    {
        if (!section.TryGet(key, out _, out var node))
        {
            return Default<int?>(section, null);
        }

        return Set<int?>(section, node, ParseInt(section, key, node, min));
    }

    private static Located<bool> ReadBoolOrThrow(ConfigSection section, string key, bool defaultValue)
    {
        if (!section.TryGet(key, out _, out var node))
        {
            return Default(section, defaultValue);
        }

        var text = PlainScalar(section, key, node, "true or false");
        return text switch
        {
            "true" or "True" or "TRUE" => Set(section, node, true),
            "false" or "False" or "FALSE" => Set(section, node, false),
            _ => throw section.Document.Error(ConfigCodes.WrongType, node,
                $"{section.KeyPath(key)} must be true or false, got '{text}'."),
        };
    }

    private static Located<T> ReadEnumOrThrow<T>(ConfigSection section, string key, T defaultValue, IReadOnlyList<(string Spelling, T Value)> allowed)
    {
        if (!section.TryGet(key, out _, out var node))
        {
            return Default(section, defaultValue);
        }

        return Set(section, node, ParseEnum(section, key, node, allowed));
    }

    public static T ParseEnum<T>(ConfigSection section, string key, YamlNode node, IReadOnlyList<(string Spelling, T Value)> allowed)
    {
        var spellings = string.Join(", ", allowed.Select(a => a.Spelling));
        if (node is not YamlScalarNode { Value: { } raw })
        {
            throw section.Document.Error(ConfigCodes.WrongType, node,
                $"{section.KeyPath(key)} must be one of {spellings}, got a {ConfigSection.NodeKind(node)}.");
        }

        var text = raw.Trim();
        foreach (var (spelling, value) in allowed)
        {
            if (string.Equals(spelling, text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        throw section.Document.Error(ConfigCodes.InvalidValue, node,
            $"{section.KeyPath(key)} must be one of {spellings}, got '{raw}'.");
    }

    private static Located<IReadOnlyList<string>> ReadStringListOrThrow(ConfigSection section, string key)
    {
        if (!section.TryGet(key, out _, out var node))
        {
            return Default<IReadOnlyList<string>>(section, Array.Empty<string>());
        }

        var items = new List<string>();
        if (node is YamlScalarNode { Value: { } single })
        {
            items.Add(single);
        }
        else if (node is YamlSequenceNode sequence)
        {
            foreach (var item in sequence.Children)
            {
                if (item is not YamlScalarNode { Value: { } text } || ConfigSection.IsNull(item))
                {
                    throw section.Document.Error(ConfigCodes.WrongType, item,
                        $"each entry of {section.KeyPath(key)} must be text, got a {ConfigSection.NodeKind(item)}.");
                }

                items.Add(text);
            }
        }
        else
        {
            throw section.Document.Error(ConfigCodes.WrongType, node,
                $"{section.KeyPath(key)} must be text or a list of text, got a {ConfigSection.NodeKind(node)}.");
        }

        if (items.Count == 0)
        {
            throw section.Document.Error(ConfigCodes.WrongLength, node,
                $"{section.KeyPath(key)} is an empty list; give at least one entry or remove the key.");
        }

        return Set<IReadOnlyList<string>>(section, node, items);
    }

    private static Located<IReadOnlyList<float>> ReadNumberListOrThrow(
        ConfigSection section, string key, IReadOnlyList<float> defaultValue, int[] allowedCounts, NumberRange range)
    {
        if (!section.TryGet(key, out _, out var node))
        {
            return Default(section, defaultValue);
        }

        var itemNodes = node is YamlSequenceNode sequence ? sequence.Children.ToList() : new List<YamlNode> { node };
        if (!allowedCounts.Contains(itemNodes.Count))
        {
            throw section.Document.Error(ConfigCodes.WrongLength, node,
                $"{section.KeyPath(key)} must have {JoinCounts(allowedCounts)} entries, got {itemNodes.Count}.");
        }

        var values = new List<float>();
        foreach (var item in itemNodes)
        {
            var value = ParseNumber(section, key, item);
            if (!range.Contains(value))
            {
                throw section.Document.Error(ConfigCodes.OutOfRange, item,
                    $"each entry of {section.KeyPath(key)} must be {range.Describe()}, got {Text(item)}.");
            }

            values.Add((float)value);
        }

        return Set<IReadOnlyList<float>>(section, node, values);
    }

    private static (List<long> Values, YamlNode Node)? ReadPositiveIntsOrThrow(ConfigSection section, string key, int? count)
    {
        if (!section.TryGet(key, out _, out var node))
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw section.Document.Error(ConfigCodes.WrongType, node,
                $"{section.KeyPath(key)} must be a list of integers, got a {ConfigSection.NodeKind(node)}.");
        }

        if (count is { } expected ? sequence.Children.Count != expected : sequence.Children.Count == 0)
        {
            var expectedCount = count is { } n ? $"exactly {n}" : "at least 1";
            throw section.Document.Error(ConfigCodes.WrongLength, node,
                $"{section.KeyPath(key)} must have {expectedCount} entries, got {sequence.Children.Count}.");
        }

        var values = sequence.Children.Select(item => (long)ParseInt(section, key, item, 1)).ToList();
        return (values, node);
    }

    public static Located<T> Set<T>(ConfigSection section, YamlNode node, T value) =>
        new(value, section.Document.Locate(node), true);

    public static double ParseNumber(ConfigSection section, string key, YamlNode node)
    {
        var text = PlainScalar(section, key, node, "a number");
        var parsed = text switch
        {
            ".inf" or ".Inf" or ".INF" or "+.inf" or "-.inf" or ".nan" or ".NaN" or ".NAN" => double.NaN,
            _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : (double?)null,
        };

        if (parsed is not { } value)
        {
            throw section.Document.Error(ConfigCodes.WrongType, node,
                $"{section.KeyPath(key)} must be a number, got '{text}'.");
        }

        if (!double.IsFinite(value))
        {
            throw section.Document.Error(ConfigCodes.OutOfRange, node,
                $"{section.KeyPath(key)} must be a finite number, got '{text}'.");
        }

        return value;
    }

    public static int ParseInt(ConfigSection section, string key, YamlNode node, int min)
    {
        var text = PlainScalar(section, key, node, "an integer");
        // BigInteger takes any number of digits, so a whole number too large for int is a range error, not a type error.
        if (!BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw section.Document.Error(ConfigCodes.WrongType, node,
                $"{section.KeyPath(key)} must be an integer, got '{text}'.");
        }

        if (value < min || value > int.MaxValue)
        {
            throw section.Document.Error(ConfigCodes.OutOfRange, node,
                $"{section.KeyPath(key)} must be an integer between {min} and {int.MaxValue}, got {text}.");
        }

        return (int)value;
    }

    /// <summary>Returns the text of a plain (unquoted) scalar, or throws a wrong-type error naming <paramref name="expected"/>.</summary>
    private static string PlainScalar(ConfigSection section, string key, YamlNode node, string expected)
    {
        if (node is YamlScalarNode { Value: { } text, Style: not (ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted) })
        {
            return text.Trim();
        }

        var got = node is YamlScalarNode { Value: { } quoted } ? $"quoted text '{quoted}'" : $"a {ConfigSection.NodeKind(node)}";
        throw section.Document.Error(ConfigCodes.WrongType, node, $"{section.KeyPath(key)} must be {expected}, got {got}.");
    }

    private static string Text(YamlNode node) => node is YamlScalarNode { Value: { } text } ? text.Trim() : "";

    private static string JoinCounts(int[] counts) => counts.Length switch
    {
        1 => counts[0].ToString(CultureInfo.InvariantCulture),
        _ => string.Join(", ", counts[..^1]) + " or " + counts[^1],
    };
}
