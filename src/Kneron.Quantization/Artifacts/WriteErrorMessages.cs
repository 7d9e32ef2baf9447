namespace Kneron.Quantization.Artifacts;

/// <summary>
/// Builds the message of a failed write with its cause and its fix. A full disk,
/// a read-only file system and a missing permission each need a different fix,
/// and the exception's own text names the temporary file, not the artifact.
/// </summary>
internal static class WriteErrorMessages
{
    private const string ElsewhereHint = "or choose another output folder (--output; in a build, the project's IntermediateOutputPath).";

    /// <summary>Returns <paramref name="failure"/> followed by the cause and the fix.</summary>
    public static string Message(string failure, Exception exception) => exception switch
    {
        UnauthorizedAccessException =>
            $"{failure}: permission denied. Give this user write permission on the folder, {ElsewhereHint}",
        IOException io when IsDiskFull(io) =>
            $"{failure}: the disk is full or the disk quota is used up. Free space on it, {ElsewhereHint}",
        IOException io when IsReadOnly(io) =>
            $"{failure}: the file system is read-only. Mount it writable, {ElsewhereHint}",
        _ =>
            $"{failure}: {exception.Message} Check that the folder is writable and the disk has space.",
    };

    // On Unix, .NET sets an IOException's HResult to the errno of the failed
    // call. On Windows it is the HRESULT of a Win32 error code.
    private static bool IsDiskFull(IOException exception)
    {
        if (OperatingSystem.IsWindows())
        {
            // ERROR_HANDLE_DISK_FULL (39) and ERROR_DISK_FULL (112).
            return (exception.HResult & 0xFFFF) is 39 or 112;
        }

        // ENOSPC is 28 on Linux and macOS. EDQUOT, a used-up disk quota, is 122 on Linux and 69 on macOS.
        const int NoSpace = 28;
        int quotaExceeded = OperatingSystem.IsMacOS() ? 69 : 122;
        return exception.HResult == NoSpace || exception.HResult == quotaExceeded;
    }

    private static bool IsReadOnly(IOException exception)
    {
        if (OperatingSystem.IsWindows())
        {
            // ERROR_WRITE_PROTECT (19).
            return (exception.HResult & 0xFFFF) == 19;
        }

        // EROFS is 30 on Linux and macOS.
        return exception.HResult == 30;
    }
}
