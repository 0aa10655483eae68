/* The software driver's control API (driver/include/swze.h), reached from a
 * test: counters, live objects, fault injection, copy speed. Call
 * driver_ctl_load() after the first zeInit (the loader loads the driver
 * then); every other function fails the test if the driver is not ours. */
#ifndef CTEST_DRIVER_CTL_H
#define CTEST_DRIVER_CTL_H

#include <stdint.h>
#include <level_zero/ze_api.h>

void driver_ctl_load(void);
uint64_t driver_calls(const char *function);
void driver_counters_reset(void);
uint64_t driver_live(const char *kind);
/* The nth call of function from now (1 = next) returns result, once. */
void driver_fault(const char *function, uint64_t nth, ze_result_t result);
void driver_fault_clear(void);
/* Whether the driver's backend honours the bandwidth cap (the cpu one). */
int driver_has_bandwidth_cap(void);
/* bytes per second; 0 = uncapped. */
void driver_set_copy_bandwidth(uint64_t bytes_per_second);

#endif
