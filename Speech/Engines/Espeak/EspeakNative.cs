using System.Runtime.InteropServices;

namespace MitTts.Speech.Engines.Espeak;

/// <summary>The part of libespeak-ng's C API (speak_lib.h) the engine uses.</summary>
internal static unsafe partial class EspeakNative
{
    private const string Library = "libespeak-ng.so.1";

    public const int AudioOutputSynchronous = 2;
    public const int InitializeDontExit = 0x8000;
    public const uint CharsUtf8 = 1;
    public const uint EndPause = 0x1000;
    public const uint Ssml = 0x10;
    public const int PositionCharacter = 1;

    public const int ParameterRate = 1;
    public const int ParameterVolume = 2;
    public const int ParameterPitch = 3;

    /// <summary>espeak_TextToPhonemes phonememode bit 1: IPA as UTF-8 rather than espeak's ASCII phoneme names.</summary>
    public const int PhonemesIpa = 0x02;

    public const int EventListTerminated = 0;
    public const int EventWord = 1;

    /// <summary>espeak_EVENT, as laid out by the C compiler on 64-bit Linux (40 bytes; checked against speak_lib.h of 1.51).</summary>
    /// <remarks>TextPosition is 1-based and counts code points of the UTF-8 input; Sample counts from the first sample of the
    /// current espeak_Synth call (AudioPosition is the same in ms); Id is a union (word number, or a name pointer).</remarks>
    [StructLayout(LayoutKind.Sequential)]
    public struct Event
    {
        public int Type;
        public uint UniqueIdentifier;
        public int TextPosition;
        public int Length;
        public int AudioPosition;
        public int Sample;
        public nint UserData;
        public nint Id;
    }

    [LibraryImport(Library, EntryPoint = "espeak_Initialize", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Initialize(int output, int bufferLengthMs, string? path, int options);

    [LibraryImport(Library, EntryPoint = "espeak_SetSynthCallback")]
    public static partial void SetSynthCallback(delegate* unmanaged<short*, int, Event*, int> callback);

    [LibraryImport(Library, EntryPoint = "espeak_Synth")]
    public static partial int Synth(byte* text, nuint size, uint position, int positionType, uint endPosition, uint flags, uint* uniqueIdentifier, void* userData);

    [LibraryImport(Library, EntryPoint = "espeak_SetParameter")]
    public static partial int SetParameter(int parameter, int value, int relative);

    /// <summary>Phonemizes one clause of the NUL-terminated text at <c>*textPointer</c> and moves the pointer on (one code point
    /// past the clause's end, as the reader looks ahead), or to null at the end of the text. The result is the library's own buffer.</summary>
    [LibraryImport(Library, EntryPoint = "espeak_TextToPhonemes")]
    public static partial byte* TextToPhonemes(byte** textPointer, int textMode, int phonemeMode);

    [LibraryImport(Library, EntryPoint = "espeak_SetVoiceByName", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetVoiceByName(string name);
}
