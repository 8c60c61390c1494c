/// @file ecg.hpp
/// @brief Umbrella header of cardiotwin::ecg.
#pragma once

#include "cardiotwin/ecg/electrodes.hpp"
#include "cardiotwin/ecg/features.hpp"
#include "cardiotwin/ecg/forward.hpp"
#include "cardiotwin/ecg/lead_field.hpp"
#include "cardiotwin/ecg/leads.hpp"
#include "cardiotwin/ecg/processing.hpp"
#include "cardiotwin/ecg/wfdb.hpp"
