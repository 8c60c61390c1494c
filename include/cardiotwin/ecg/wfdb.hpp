/// @file wfdb.hpp
/// @brief ECG files: WFDB records (PhysioNet) and our CSV (time_ms + one column per lead).
///
/// WFDB: a text header `<record>.hea` (record line, one line per signal, `#` comments) and binary
/// signal files, `.dat` or the `.mat` files of the PhysioNet/CinC challenges (a MATLAB v4 file
/// read as a format-16 signal file after its header, which the `+offset` of the format field
/// skips). Supported sample formats: 16 (16-bit little-endian), 61 (16-bit big-endian), 80 (8-bit
/// offset binary) and 212 (pairs of 12-bit samples in 3 bytes); several signals in one file are
/// interleaved frame by frame. Physical value = (sample - baseline) / gain in the signal's units,
/// converted to mV when the units are V, mV or uV. Checksums and initial values given in the
/// header are verified. Single-segment records with one sample per frame only.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cardiotwin/core/signals.hpp"

namespace cardiotwin::ecg {

/// One signal specification line of a WFDB header.
struct WfdbSignal {
  std::string file;             ///< signal file name, relative to the header's folder
  int format = 16;              ///< sample format (16, 61, 80, 212)
  std::int64_t byte_offset = 0; ///< bytes to skip at the start of the file ("+offset")
  double gain = 200;            ///< ADC units per physical unit (0 in the file means 200)
  double baseline = 0;          ///< sample value of physical zero (defaults to adc_zero)
  std::string units = "mV";     ///< physical units
  int adc_resolution = 0;       ///< bits, 0 if not given
  int adc_zero = 0;             ///< sample value at the middle of the ADC's range
  bool has_initial_value = false, has_checksum = false;
  std::int64_t initial_value = 0;  ///< first sample, when given
  std::int64_t checksum = 0;       ///< 16-bit sum of all samples, when given
  std::string description;         ///< signal (lead) name
};

/// A parsed WFDB header.
struct WfdbHeader {
  std::string record;                  ///< record name
  double sampling_frequency_hz = 250;  ///< samples per second per signal (WFDB's default 250)
  std::int64_t num_samples = -1;       ///< samples per signal; -1 if not given (taken from the file size)
  std::vector<WfdbSignal> signals;
  std::vector<std::string> comments;   ///< text of the `#` lines, without the `#`
};

/// Parse the text of a `.hea` file. `source` names it in messages. Throws `FileFormatError`
/// naming the file, the line and the field for anything malformed or unsupported.
WfdbHeader parse_wfdb_header(std::string_view text, const std::string& source);

/// Read a WFDB record: `path` is the `.hea` file or the record path without extension.
/// Channel names are the signal descriptions; time starts at 0 (or at the offset we write in a
/// "# cardiotwin: t0_ms=" comment). Metadata holds the record name, sampling frequency, gains,
/// units and comments. With `verify` (default), checksums and initial values must match.
Signals read_wfdb(const std::string& path, bool verify = true);

/// Options of `write_wfdb`.
struct WfdbWriteOptions {
  double gain = 0;                    ///< ADC units per mV; 0 picks 1000 or less so the largest value fits 16 bits
  std::vector<std::string> comments;  ///< extra `#` lines
};

/// Write `signals` (uniformly sampled, values in mV) as a WFDB record in format 16: `path` is
/// the `.hea` file or the record path without extension; the samples go to `<record>.dat`
/// beside it. NaN samples are written as WFDB's invalid sample (-32768). Throws `InvalidInput`
/// for non-uniform time axes, values that do not fit at the requested gain, or channel names
/// with whitespace.
void write_wfdb(const std::string& path, const Signals& signals, const WfdbWriteOptions& options = {});

/// Read our CSV: a header line `time_ms,<lead>,...` (or `time_s`, scaled to ms) and one row per
/// sample. Throws `FileFormatError` naming the file and line for malformed rows.
Signals read_ecg_csv(const std::string& path);
/// Write `signals` as CSV with `time_ms` first (9 significant digits).
void write_ecg_csv(const std::string& path, const Signals& signals);

/// Read an ECG by extension: `.csv`, `.hea`, `.dat`/`.mat` (the `.hea` beside it), or a record
/// path without extension whose `.hea` exists.
Signals read_ecg(const std::string& path);
/// Write an ECG by extension: `.csv`, or `.hea`/`.dat`/no extension for WFDB.
void write_ecg(const std::string& path, const Signals& signals);

}  // namespace cardiotwin::ecg
