local raw = redis.call('HGETALL', KEYS[1])
local prefix = ARGV[1]
local taken = {}
for i = 1, #raw, 2 do
    if string.sub(raw[i], 1, #prefix) == prefix then
        taken[#taken + 1] = raw[i]
        taken[#taken + 1] = raw[i + 1]
        redis.call('HDEL', KEYS[1], raw[i])
    end
end
return taken
