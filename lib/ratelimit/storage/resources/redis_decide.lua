local buckets = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local consume = ARGV[3] == '1'
local now = tonumber(ARGV[4])
if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local tally = ARGV[5]
local count = #KEYS - 1
local allowed = true
local windows = {}
for i = 1, count do
    local quantity = tonumber(ARGV[4 + 2 * i])
    local period = tonumber(ARGV[5 + 2 * i])
    local width = period / buckets
    local current = math.floor(now / width)
    local raw = redis.call('HGETALL', KEYS[i])
    -- x: when the newest call leaves the window; past it, nothing is live
    local expires, dead = nil, false
    for j = 1, #raw, 2 do
        if raw[j] == 'x' then
            expires = tonumber(raw[j + 1])
        end
    end
    if expires and expires <= now then
        expires, dead = nil, true
    end
    local used, live, stale = 0, {}, {}
    for j = 1, #raw, 2 do
        if raw[j] ~= 'x' then
            local b, c = tonumber(raw[j]), tonumber(raw[j + 1])
            if not dead and b >= current - buckets then
                used = used + c
                live[#live + 1] = b
                live[#live + 1] = c
            else
                stale[#stale + 1] = raw[j]
            end
        end
    end
    if used + cost > quantity then
        allowed = false
    end
    windows[i] = {current, period, live, stale, expires}
end
local result = {allowed and 1 or 0, string.format('%.6f', now)}
for i = 1, count do
    local current, period, live, stale, expires = unpack(windows[i])
    if consume and allowed then
        redis.call('HINCRBY', KEYS[i], string.format('%d', current), cost)
        if #stale > 0 then
            redis.call('HDEL', KEYS[i], unpack(stale))
        end
        local newest = math.max(expires or now, now + period)
        redis.call('HSET', KEYS[i], 'x', string.format('%.6f', newest))
        local ttl = math.ceil((newest - now) * 1000)
        redis.call('PEXPIRE', KEYS[i], math.max(ttl, 1))
    end
    result[#result + 1] = {current, live, expires and string.format('%.6f', expires) or ''}
end
if consume and tally ~= '' then
    local field = tally .. (allowed and '\nallowed' or '\nrefused')
    redis.call('HINCRBY', KEYS[count + 1], field, 1)
end
return result
